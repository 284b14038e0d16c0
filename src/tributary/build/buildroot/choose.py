"""Which buildroot a project builds in: its distro version's mock config, tributary's TOML form, or the default.

azldev's TOML names a mock config per distro version (``mock-config``, ``mock-config-x86_64``,
``mock-config-aarch64``; the host's architecture picks, as in azldev). tributary reads it as mock
would; a path ending in ``.toml`` is tributary's own form (``tributary.build.buildroot.native``).

A project that names none still builds, in the **default buildroot**: this host's stage-0 repository
(``tributary.build.stage0``, made on first use), Fedora's standard build set (``@buildsys-build``) and,
once the project has built it, whichever of its own packages provides ``system-rpm-config`` (its
rpm-config: the distribution's macros and compiler flags). So a tree of Fedora-style components
bootstraps itself without any configuration.

Templates in both forms may use two names tributary defines (with ``--backend mock`` they are passed
to mock as ``--config-opts``): ``tributary_stage0``, the ``file://`` URL of this host's stage-0
repository, and ``tributary_project_dir``, the project's directory.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from pathlib import Path

from tributary.build.buildroot.definition import Buildroot, Repo
from tributary.build.buildroot.frommock import buildroot_from_mock_config
from tributary.build.buildroot.native import buildroot_from_toml
from tributary.config import Project
from tributary.config.locate import find_line
from tributary.errors import Location

CACHE_ENV = "TRIB_CACHE_DIR"
DEFAULT_PACKAGES = ("@buildsys-build",)
RPM_CONFIG_CAPABILITY = "system-rpm-config"
STAGE0_KEY_NAME = "RPM-GPG-KEY-stage0"

Stage0Url = Callable[[], str]


def cache_root(project: Project) -> Path:
    """Where stage-0 repositories, roots and indexed repositories are kept: ``$TRIB_CACHE_DIR`` or
    ``<work-dir>/cache``. Sharing one directory between projects shares their roots."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else project.work_dir / "cache"


def mock_config_path(project: Project, arch: str | None = None) -> tuple[Path, Location] | None:
    """The buildroot definition the project's target distro version names for ``arch``, and where."""
    target = project.default_distro
    if target is None:
        return None
    name, version, settings = target
    arch = arch or platform.machine()
    for key, value in ((f"mock-config-{arch}", getattr(settings, f"mock_config_{arch}", None)),
                       ("mock-config", settings.mock_config)):
        if value:
            return Path(value), _located(project, ("distros", name, "versions", version, key))
    return None


def project_buildroot(project: Project, *, stage0_url: Stage0Url, arch: str | None = None) -> Buildroot:
    """The buildroot definition ``project`` builds in (see the module docstring)."""
    arch = arch or platform.machine()
    target = project.default_distro
    releasever = target[2].release_ver if target else "1"
    variables = {"tributary_stage0": stage0_url, "tributary_project_dir": lambda: str(project.root)}
    named = mock_config_path(project, arch)
    if named is None:
        return default_buildroot(project, stage0_url=stage0_url, arch=arch, releasever=releasever)
    path, _where = named
    if path.suffix == ".toml":
        return buildroot_from_toml(path, variables=variables, releasever=releasever)
    return buildroot_from_mock_config(path, confine_to=project.root, arch=arch, variables=variables,
                                      releasever=releasever)


def default_buildroot(project: Project, *, stage0_url: Stage0Url, arch: str, releasever: str) -> Buildroot:
    url = stage0_url()
    name = project.default_distro[0] if project.default_distro else project.root.name
    return Buildroot(
        name=f"{name}-{releasever}-{arch}-default",
        description="the default buildroot: this host's stage-0 repository, @buildsys-build and the project's "
                    "rpm-config",
        repos=(Repo("stage0", url, name="stage 0 (this build host)", gpgcheck=True,
                    gpgkeys=(f"{url}/{STAGE0_KEY_NAME}",)),),
        packages=DEFAULT_PACKAGES,
        packages_if_built=(RPM_CONFIG_CAPABILITY,),
        releasever=releasever,
        arch=arch,
    )


def _located(project: Project, keys: tuple[str, ...]) -> Location:
    for loaded in reversed(project.files):
        table = loaded.raw
        for key in keys:
            table = table.get(key, {}) if isinstance(table, dict) else {}
        if table:
            return Location(loaded.path, find_line(loaded.path, keys))
    return Location(project.root)
