"""What an image is made of, whichever way it was described (KIWI XML or tributary's TOML).

The builders (root filesystem, OCI, WSL, disks) read only this model, so a second description format
costs a parser, not a second set of builders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

FORMATS = ("oci", "docker-archive", "wsl", "raw", "qcow2", "vhd-fixed")


@dataclass(frozen=True)
class User:
    name: str
    uid: int | None = None
    gid: int | None = None
    home: str | None = None
    shell: str | None = None
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContainerConfig:
    """OCI image config fields (``org.opencontainers.image.*`` labels are added by the builder)."""

    name: str | None = None
    tag: str = "latest"
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    workdir: str | None = None
    user: str | None = None


@dataclass(frozen=True)
class ImageSpec:
    name: str
    version: str
    formats: tuple[str, ...]
    packages: tuple[str, ...]
    bootstrap_packages: tuple[str, ...] = ()
    users: tuple[User, ...] = ()
    config_script: Path | None = None
    container: ContainerConfig = field(default_factory=ContainerConfig)
    distroless: bool = False
    """No package manager or shell left in the root; the package list stays readable for scanners."""
    disk_size_mib: int | None = None
    source: Path | None = None
    """The description file, for error messages."""
