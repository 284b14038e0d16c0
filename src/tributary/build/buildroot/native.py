"""tributary's own TOML form of a buildroot, for projects without mock configs.

A distro version names it where azldev names a mock config (``mock-config-x86_64 = "stage1.toml"``):
a path ending in ``.toml`` is read as this form, anything else as a mock config. String values are
Jinja2 templates, as in mock configs, with the same names: the buildroot's ``releasever`` and ``arch``,
``tributary_stage0`` and ``tributary_project_dir``::

    [buildroot]
    name = "tribex-1.0-stage1"
    description = "Stage 1: the host's stage-0 packages and our own rpm-config"
    packages = ["@buildsys-build", "tribex-rpm-config"]
    packages-if-built = []   # joined to packages once a component of the project provides them
    macros = { "%dist" = ".tribex10", "%vendor" = "Tributary Example Linux" }

    [[buildroot.repos]]
    id = "stage0"
    baseurl = "{{ tributary_stage0 }}"
    gpgcheck = true
    gpgkey = ["{{ tributary_stage0 }}/RPM-GPG-KEY-stage0"]
"""

from __future__ import annotations

import platform
import tomllib
from pathlib import Path
from typing import Any

import jinja2
import pydantic

from tributary.build.buildroot.definition import Buildroot, Repo
from tributary.build.buildroot.templates import Templates, Variables
from tributary.config.locate import find_line
from tributary.errors import ConfigError, Location


class _Model(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", populate_by_name=True,
                                       alias_generator=lambda name: name.replace("_", "-"))


class _Repo(_Model):
    id: str
    baseurl: str
    name: str = ""
    gpgcheck: bool = False
    gpgkey: list[str] = pydantic.Field(default_factory=list)
    priority: int = 99
    excludepkgs: list[str] = pydantic.Field(default_factory=list)


class _Buildroot(_Model):
    name: str
    description: str = ""
    releasever: str = ""
    arch: str = pydantic.Field(default_factory=platform.machine)
    package_manager: str = "dnf"
    packages: list[str] = pydantic.Field(min_length=1)
    packages_if_built: list[str] = pydantic.Field(default_factory=list)
    macros: dict[str, str] = pydantic.Field(default_factory=dict)
    repos: list[_Repo] = pydantic.Field(min_length=1)


class _File(_Model):
    buildroot: _Buildroot


def buildroot_from_toml(path: Path, *, variables: Variables | None = None,
                        releasever: str = "") -> Buildroot:
    """Read the TOML form at ``path``; ``releasever`` is used when the file sets none."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read the buildroot definition: {error}", where=Location(path)) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"invalid TOML: {error}", where=Location(path)) from None
    try:
        parsed = _File.model_validate(raw).buildroot
    except pydantic.ValidationError as error:
        # An unknown key explains a missing one (a misspelt "repo"), so it is named first.
        first = min(error.errors(), key=lambda item: item["type"] != "extra_forbidden")
        keys = tuple(str(part) for part in first["loc"])
        line = find_line(path, keys) or find_line(path, keys[:-1])
        what = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        raise ConfigError(f"{'.'.join(keys)}: {what}", where=Location(path, line)) from None
    releasever = parsed.releasever or releasever
    render = _Renderer({"releasever": releasever, "arch": parsed.arch}, variables or {}, path)
    repos = tuple(Repo(id=repo.id, baseurl=render(repo.baseurl, ("buildroot", "repos")), name=repo.name or repo.id,
                       gpgcheck=repo.gpgcheck,
                       gpgkeys=tuple(render(key, ("buildroot", "repos")) for key in repo.gpgkey),
                       priority=repo.priority, excludes=tuple(repo.excludepkgs),
                       where=Location(path, find_line(path, ("buildroot", "repos"))))
                  for repo in parsed.repos)
    return Buildroot(
        name=render(parsed.name, ("buildroot", "name")),
        repos=repos,
        packages=tuple(render(package, ("buildroot", "packages")) for package in parsed.packages),
        packages_if_built=tuple(parsed.packages_if_built),
        macros={name: render(value, ("buildroot", "macros", name)) for name, value in parsed.macros.items()},
        releasever=releasever,
        arch=parsed.arch,
        package_manager=parsed.package_manager,
        source=Location(path),
        description=parsed.description,
    )


class _Renderer:
    """Renders one value of the file, naming the key and its line when the template is wrong."""

    def __init__(self, context: dict[str, Any], variables: Variables, path: Path):
        self.templates = Templates(context, variables)
        self.path = path

    def __call__(self, text: str, keys: tuple[str, ...]) -> str:
        try:
            return self.templates.render(text)
        except jinja2.TemplateError as error:
            raise ConfigError(f"{'.'.join(keys)}: template error: {error}",
                              where=Location(self.path, find_line(self.path, keys))) from None
