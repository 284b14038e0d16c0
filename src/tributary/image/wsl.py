"""WSL images: the ``.wsl`` file Windows installs with ``wsl --install --from-file``.

Microsoft's format (WSL 2.4.4 and later, "Build a custom Linux distribution for WSL"): a gzip-compressed
tar of the root file system, with two configuration files in it:

* ``/etc/wsl-distribution.conf``, the distribution's own settings for its first launch: ``[oobe]``
  ``defaultName`` (the name it is registered under) and ``defaultUid`` (the user a session starts as),
  ``[shortcut] enabled`` (a Start-menu entry). Only documented keys are written.
* ``/etc/wsl.conf``, the per-instance settings: ``[boot] systemd`` (true when the root has systemd to
  boot) and ``[user] default`` (the image's first user).

The two files are added to the archive, not to the root, so the same root also makes a container image
without them. A root that already has either file (a package or the configuration script put it
there) keeps its own. The archive is written by the same deterministic tar writer as the OCI layer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tributary.fsutil import atomic_output
from tributary.image.errors import ImageError
from tributary.image.oci import write_gzip_root_tar
from tributary.image.rootpaths import resolve_in_root
from tributary.image.spec import ImageSpec

DISTRIBUTION_CONF = "etc/wsl-distribution.conf"
WSL_CONF = "etc/wsl.conf"
SYSTEMD = "/usr/lib/systemd/systemd"


@dataclass(frozen=True)
class WslResult:
    """The ``.wsl`` file, its digest, and the settings its configuration files give."""

    path: Path
    sha256: str
    size: int
    default_user: str | None
    default_uid: int | None
    systemd: bool
    generated: tuple[str, ...]
    """The configuration files tributary wrote (``etc/wsl.conf``...); the others came from the root."""

    def to_json(self) -> dict[str, object]:
        return {"path": str(self.path), "sha256": self.sha256, "size": self.size, "defaultUser": self.default_user,
                "defaultUid": self.default_uid, "systemd": self.systemd, "generated": list(self.generated)}


def distribution_conf(spec: ImageSpec, *, default_uid: int | None) -> str:
    """``/etc/wsl-distribution.conf`` for ``spec``: registered under its name, a shortcut, the first user."""
    lines = [f"# {spec.name} {spec.version}, made by tributary", "", "[oobe]", f"defaultName = {spec.name}"]
    if default_uid is not None:
        lines.append(f"defaultUid = {default_uid}")
    lines += ["", "[shortcut]", "enabled = true"]
    return "\n".join(lines) + "\n"


def wsl_conf(*, systemd: bool, default_user: str | None) -> str:
    """``/etc/wsl.conf``: whether to boot systemd, and the user sessions start as."""
    lines = ["[boot]", f"systemd = {'true' if systemd else 'false'}"]
    if default_user:
        lines += ["", "[user]", f"default = {default_user}"]
    return "\n".join(lines) + "\n"


def _uid_of(rootfs: Path, user: str) -> int | None:
    passwd = resolve_in_root(rootfs, "/etc/passwd")
    if passwd is None or not passwd.is_file():
        return None
    for line in passwd.read_text(errors="replace").splitlines():
        fields = line.split(":")
        if fields[0] == user and len(fields) > 2 and fields[2].isdigit():
            return int(fields[2])
    return None


def write_wsl(rootfs: Path, spec: ImageSpec, out_path: Path, *, created: int | None = None,
              systemd: bool | None = None) -> WslResult:
    """Write ``out_path``, the ``.wsl`` archive of ``rootfs`` with the two WSL configuration files.

    ``created`` clamps every mtime (default: the root directory's own, which ``build_rootfs`` sets to
    SOURCE_DATE_EPOCH). ``systemd`` defaults to whether the root has ``/usr/lib/systemd/systemd``. The
    default user is the image's first user; it must be in the root's ``/etc/passwd``.
    """
    rootfs = Path(rootfs)
    if not rootfs.is_dir():
        raise ImageError(f"image root {rootfs} does not exist", where=f"image {spec.name!r}")
    if created is None:
        created = int(os.lstat(rootfs).st_mtime)
    if systemd is None:
        systemd = resolve_in_root(rootfs, SYSTEMD) is not None
    default_user = spec.users[0].name if spec.users else None
    default_uid = _uid_of(rootfs, default_user) if default_user else None
    if default_user and default_uid is None:
        raise ImageError(f"the default user {default_user!r} is not in the root's /etc/passwd",
                         where=f"image {spec.name!r}")
    wanted = {DISTRIBUTION_CONF: distribution_conf(spec, default_uid=default_uid).encode(),
              WSL_CONF: wsl_conf(systemd=systemd, default_user=default_user).encode()}
    extra = {name: data for name, data in wanted.items() if not os.path.lexists(rootfs / name)}
    with atomic_output(Path(out_path), mode=0o644) as handle:
        digests = write_gzip_root_tar(rootfs, handle, mtime=created, extra=extra)
    return WslResult(Path(out_path), digests.gzip_digest.removeprefix("sha256:"), digests.gzip_size, default_user,
                     default_uid, systemd, tuple(sorted(extra)))

