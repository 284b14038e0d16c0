"""A buildroot from a mock config: which of mock's options tributary carries out, and how.

Applied: ``root`` (the buildroot's name), ``target_arch``, ``legal_host_arches`` (checked),
``releasever``, ``package_manager``, ``chroot_setup_cmd`` (``install``/``groupinstall`` and the
packages and ``@groups`` it names: the buildroot's package set), ``macros`` (written to the build
user's ``~/.rpmmacros``, as mock does), ``dnf.conf``/``dnf5.conf``/``yum.conf`` (each enabled
repository's ``baseurl``, ``name``, ``gpgcheck``, ``gpgkey``, ``priority``, ``excludepkgs``; dnf's
``$releasever``/``$basearch`` substituted), ``description``.

Everything else the files set is listed as not applied, once, with the file and line that set it:
some options do not matter here (mock's own cache and bootstrap settings, plugins), some cannot be
honoured (network during the build). Nothing is dropped without a word.
"""

from __future__ import annotations

import configparser
import platform
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tributary.build.buildroot.definition import Buildroot, Repo, Unsupported
from tributary.build.buildroot.mockcfg import MockConfig, read_mock_config
from tributary.errors import ConfigError, Location

# Options mock reads whose effect tributary either reproduces differently or that do not change what
# a build produces here; they are listed with this reason rather than as unsupported.
NO_EFFECT_HERE = {
    "basedir": "tributary keeps roots in its own cache",
    "cache_topdir": "tributary keeps roots in its own cache",
    "chroothome": "builds run at tributary's fixed /build",
    "use_bootstrap": "dnf runs from the build host, outside the root",
    "use_bootstrap_image": "dnf runs from the build host, outside the root",
    "bootstrap_image": "dnf runs from the build host, outside the root",
    "bootstrap_image_ready": "dnf runs from the build host, outside the root",
    "nosync": "no effect on what is built",
    "nosync_force": "no effect on what is built",
    "isolation": "builds always run in bubblewrap",
    "plugin_conf": "mock plugins do not run; root caching is tributary's own, %autorelease is expanded by render",
    "dist": "only %dist in macros reaches rpmbuild",
    "dnf_warning": "no effect on what is built",
    "package_manager_max_attempts": "no effect on what is built",
    "package_manager_attempt_delay": "no effect on what is built",
    "yum_common_opts": "no effect on what is built",
    "dnf_common_opts": "no effect on what is built",
    "extra_chroot_dirs": "no effect on what is built",
    "mirrored": "no effect on what is built",
}
APPLIED = {"root", "target_arch", "legal_host_arches", "releasever", "package_manager", "chroot_setup_cmd",
           "macros", "dnf.conf", "dnf5.conf", "yum.conf", "description"}
REFUSED = {
    "rpmbuild_networking": "builds never reach the network here",
    "use_host_resolv": "builds never reach the network here",
    "module_enable": "modularity is not supported",
    "module_install": "modularity is not supported",
    "external_buildrequires": "external build requirements are not supported",
}
REPO_OPTIONS = {"name", "baseurl", "enabled", "gpgcheck", "gpgkey", "priority", "excludepkgs", "exclude"}
# Repository options with no effect on which packages a local install picks.
REPO_NO_EFFECT = {"skip_if_unavailable", "metadata_expire", "cost", "module_hotfixes", "repo_gpgcheck",
                  "best", "countme", "type", "sslverify", "fastestmirror", "username", "password", "mirrorlist_expire"}

DnfVariables = Mapping[str, str]


def mock_defaults(arch: str) -> dict[str, Any]:
    """What mock has in ``config_opts`` before a config runs, as far as templates refer to it."""
    return {"target_arch": arch, "legal_host_arches": [arch], "macros": {}, "plugin_conf": {},
            "chroot_setup_cmd": "install @buildsys-build", "package_manager": "dnf"}


def buildroot_from_mock_config(path: Path, *, confine_to: Path, arch: str | None = None,
                               variables: Mapping[str, Callable[[], Any]] | None = None,
                               releasever: str = "") -> Buildroot:
    """Read ``path`` and turn it into a Buildroot; ``releasever`` is used when the config sets none."""
    arch = arch or platform.machine()
    config = read_mock_config(path, confine_to=confine_to, defaults=mock_defaults(arch), variables=variables)
    return from_config(config, releasever=releasever)


def from_config(config: MockConfig, *, releasever: str = "") -> Buildroot:
    options = config.options
    arch = str(options.get("target_arch") or platform.machine())
    legal = options.get("legal_host_arches") or [arch]
    if platform.machine() not in legal:
        allowed = ", ".join(map(str, legal))
        raise ConfigError(f"this build host is {platform.machine()}; the mock config allows {allowed}",
                          where=config.where("legal_host_arches"))
    releasever = str(options.get("releasever") or releasever)
    unsupported: list[Unsupported] = []
    for key in sorted(k[0] for k in config.origins if len(k) == 1):
        if key in APPLIED:
            continue
        if key in REFUSED:
            if options.get(key):
                unsupported.append(Unsupported(f"config_opts[{key!r}]", config.where(key), REFUSED[key]))
            continue
        if key in NO_EFFECT_HERE:
            unsupported.append(Unsupported(f"config_opts[{key!r}]", config.where(key),
                                           f"no effect: {NO_EFFECT_HERE[key]}"))
            continue
        if key in config.template_names:
            continue  # a value templates refer to: it takes effect through them
        unsupported.append(Unsupported(f"config_opts[{key!r}]", config.where(key)))
    preferred: tuple[str, ...] = ("dnf.conf", "yum.conf")
    if options.get("package_manager") == "dnf5":
        preferred = ("dnf5.conf", *preferred)
    conf_key = next((key for key in preferred if key in options), None)
    if conf_key is None:
        raise ConfigError("the mock config names no repositories (config_opts['dnf.conf'])",
                          where=Location(config.path))
    variables = {"releasever": releasever, "basearch": arch, "arch": arch}
    repos, repo_notes = parse_dnf_conf(str(options[conf_key]), where=config.where(conf_key), variables=variables)
    unsupported += repo_notes
    macros = options.get("macros") or {}
    if not isinstance(macros, dict):
        raise ConfigError("config_opts['macros'] must be a dict", where=config.where("macros"))
    return Buildroot(
        name=str(options.get("root") or config.path.stem),
        repos=tuple(repos),
        packages=tuple(setup_packages(str(options.get("chroot_setup_cmd", "")),
                                      where=config.where("chroot_setup_cmd"))),
        macros={str(name): str(value) for name, value in macros.items()},
        releasever=releasever,
        arch=arch,
        package_manager=str(options.get("package_manager") or "dnf"),
        source=Location(config.path),
        unsupported=tuple(unsupported),
        description=str(options.get("description") or ""),
    )


def setup_packages(command: str, *, where: Location) -> list[str]:
    """The packages and ``@groups`` of ``chroot_setup_cmd`` (``install a b @g`` or ``groupinstall g``)."""
    words = shlex.split(command)
    if not words:
        raise ConfigError("chroot_setup_cmd is empty: the buildroot would have no packages", where=where)
    verb, names = words[0], words[1:]
    if verb == "groupinstall":
        return [name if name.startswith("@") else f"@{name}" for name in names]
    if verb != "install":
        raise ConfigError(f"chroot_setup_cmd {command!r}: only 'install' and 'groupinstall' are read", where=where)
    if not names:
        raise ConfigError("chroot_setup_cmd installs nothing", where=where)
    return names


def parse_dnf_conf(text: str, *, where: Location, variables: DnfVariables) -> tuple[list[Repo], list[Unsupported]]:
    """The enabled repositories of a ``dnf.conf`` text, and what of it is not applied."""
    parser = configparser.ConfigParser(interpolation=None, strict=False, default_section="\0none")
    try:
        parser.read_string(text)
    except configparser.Error as error:
        raise ConfigError(f"dnf.conf cannot be read: {error.message.splitlines()[0]}", where=where) from None
    repos: list[Repo] = []
    notes: list[Unsupported] = []
    for section in parser.sections():
        values = {key: _substitute(value, variables) for key, value in parser.items(section)}
        if section == "main":
            if values:
                notes.append(Unsupported(f"dnf.conf [main] {', '.join(sorted(values))}", where,
                                         "no effect: tributary runs dnf with its own settings"))
            continue
        if values.get("enabled", "1").strip().lower() in ("0", "false", "no", "off"):
            continue
        ignored = sorted(set(values) - REPO_OPTIONS - REPO_NO_EFFECT)
        if ignored:
            notes.append(Unsupported(f"dnf.conf [{section}] {', '.join(ignored)}", where))
        baseurls = values.get("baseurl", "").split()
        if not baseurls:
            raise ConfigError(f"dnf.conf repository [{section}] has no baseurl (tributary reads baseurl only; "
                              "point it at a mirror instead of a metalink or mirrorlist)", where=where)
        if len(baseurls) > 1:
            notes.append(Unsupported(f"dnf.conf [{section}] baseurl", where,
                                     f"only the first of {len(baseurls)} URLs is used"))
        try:
            priority = int(values.get("priority", "99"))
        except ValueError:
            raise ConfigError(f"dnf.conf [{section}] priority must be a number", where=where) from None
        repos.append(Repo(
            id=section,
            baseurl=baseurls[0],
            name=values.get("name", section),
            gpgcheck=values.get("gpgcheck", "0").strip().lower() in ("1", "true", "yes", "on"),
            gpgkeys=tuple(values.get("gpgkey", "").replace(",", " ").split()),
            priority=priority,
            excludes=tuple((values.get("excludepkgs", "") + " " + values.get("exclude", "")).replace(",", " ").split()),
            where=where,
        ))
    if not repos:
        raise ConfigError("dnf.conf enables no repository", where=where)
    return repos, notes


def _substitute(value: str, variables: DnfVariables) -> str:
    for name in sorted(variables, key=len, reverse=True):
        value = value.replace(f"${{{name}}}", variables[name]).replace(f"${name}", variables[name])
    return value
