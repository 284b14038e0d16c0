"""Read an image description into an ``ImageSpec``: the KIWI subset Azure Linux uses, or tributary's TOML.

``[images.NAME] definition = { type = "kiwi", path = "x.kiwi", profile = "core" }`` is azldev's form and
is read natively, without KIWI itself (KIWI needs root and loop devices; tributary builds images
without either). The subset: ``preferences`` (``version``, ``type`` with ``image``, ``format`` and
``containerconfig``), ``profiles``, ``packages`` of ``type="image"`` and ``"bootstrap"`` (with
``profiles`` attributes), ``users``, and a ``config.sh`` beside the description. ``repository``
elements are ignored on purpose: images are made from the project's own published repositories. Any
other element is reported (``DescriptionResult.notes``), never silently dropped.

``definition = { type = "native", path = "x.image.toml" }`` is a short TOML form for simple images::

    version = "1.0"
    formats = ["oci", "docker-archive"]
    packages = ["filesystem", "greet"]
    distroless = false
    config-script = "config.sh"          # optional, relative to this file
    disk-size-mib = 256                  # for raw, qcow2 and vhd-fixed
    [container]
    cmd = ["/usr/bin/greet"]
    env = { PATH = "/usr/bin:/usr/sbin" }
    [[users]]
    name = "greeter"
    uid = 1000
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tributary.config import Project
from tributary.config.loader import parse_toml
from tributary.errors import ConfigError, Location
from tributary.fsutil import resolve_inside
from tributary.image.spec import FORMATS, ContainerConfig, ImageSpec, User

# KIWI's image types and what tributary makes of them.
_KIWI_CONTAINER = {"oci", "docker"}
_KIWI_DISK = {"oem", "vmx", "iso"}
_KIWI_WSL = {"wsl", "appx"}
_KIWI_DISK_FORMATS = {"vhd-fixed": "vhd-fixed", "qcow2": "qcow2", "raw": "raw", None: "raw"}
_KIWI_SIZE_UNITS = {"M": 1, "G": 1024}
# Elements read; everything else is reported.
_KNOWN = {"image", "description", "author", "contact", "specification", "license", "profiles", "profile",
          "preferences", "version", "packagemanager", "locale", "keytable", "timezone", "rpm-check-signatures",
          "type", "containerconfig", "entrypoint", "subcommand", "argument", "environment", "env", "labels",
          "label", "users", "user", "repository", "source", "packages", "package", "size"}
_IGNORED = {"repository", "source", "packagemanager", "locale", "keytable", "timezone", "rpm-check-signatures",
            "description", "author", "contact", "specification", "license"}


@dataclass
class DescriptionResult:
    spec: ImageSpec
    notes: list[str] = field(default_factory=list)


def load_image(project: Project, name: str) -> DescriptionResult:
    """The ImageSpec of ``[images.NAME]``; errors name the description file (and line for TOML)."""
    image = project.images.get(name)
    if image is None:
        from tributary.config.diagnostics import did_you_mean

        raise ConfigError(f"unknown image {name!r}" + did_you_mean(name, project.images))
    origin = project.image_origins[name]
    definition = image.definition
    if definition is None or not definition.path:
        raise ConfigError(f"image {name!r} has no definition path", where=origin.location())
    path = Path(definition.path)
    if not path.is_file():
        raise ConfigError(f"image {name!r}: description {path} does not exist", where=origin.location("definition"))
    if definition.type == "kiwi":
        return read_kiwi(path, name=name, profile=definition.profile)
    return read_native(path, name=name)


# --- KIWI ------------------------------------------------------------------------------------------


def read_kiwi(path: Path, *, name: str, profile: str | None) -> DescriptionResult:
    text = path.read_text(encoding="utf-8")
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise ConfigError("KIWI descriptions with a DOCTYPE or entities are not read", where=Location(path))
    try:
        root = ET.fromstring(text)
    except ET.ParseError as error:
        line = error.position[0] if error.position else None
        raise ConfigError(f"not well-formed XML: {error}", where=Location(path, line)) from error
    if root.tag != "image":
        raise ConfigError(f"the root element is <{root.tag}>, not <image>", where=Location(path, 1))
    notes = sorted({f"<{element.tag}> is not supported and was ignored" for element in root.iter()
                    if element.tag not in _KNOWN})
    notes += sorted({f"<{element.tag}> is ignored: images use the project's published repositories"
                     for element in root.iter() if element.tag == "repository"})
    profiles = {p.get("name") for p in root.iter("profile")}
    if profile and profile not in profiles:
        raise ConfigError(
            f"profile {profile!r} is not defined (profiles: {', '.join(sorted(p for p in profiles if p)) or 'none'})",
            where=Location(path),
        )

    def selected(element: ET.Element) -> bool:
        wanted = element.get("profiles")
        return wanted is None or (profile is not None and profile in {p.strip() for p in wanted.split(",")})

    preferences = [p for p in root.findall("preferences") if selected(p)]
    version = next((p.findtext("version") for p in preferences if p.findtext("version")), None) or "1.0"
    types = [t for p in preferences for t in p.findall("type")]
    if not types:
        raise ConfigError(f"no <type> in the preferences selected by profile {profile!r}", where=Location(path))
    kiwi_type = next((t for t in types if t.get("primary") == "true"), types[0])
    formats, container = _kiwi_type(kiwi_type, path)
    disk_size_mib = _kiwi_size(kiwi_type, path)
    packages: list[str] = []
    bootstrap: list[str] = []
    for section in root.findall("packages"):
        if not selected(section):
            continue
        names = [p.get("name", "") for p in section.findall("package") if selected(p)]
        kind = section.get("type", "image")
        if kind == "bootstrap":
            bootstrap += names
        elif kind == "image":
            packages += names
        else:
            notes.append(f'<packages type="{kind}"> is not supported and was ignored')
    users = tuple(
        User(name=u.get("name", ""), uid=_int(u.get("id")), home=u.get("home"), shell=u.get("shell"),
             groups=tuple(g for g in (u.get("groups") or "").split(",") if g))
        for section in root.findall("users") if selected(section) for u in section.findall("user")
    )
    script = path.parent / "config.sh"
    spec = ImageSpec(
        name=name, version=version, formats=formats, packages=tuple(packages), bootstrap_packages=tuple(bootstrap),
        users=users, config_script=script if script.is_file() else None, container=container,
        distroless=profile is not None and "distroless" in profile, disk_size_mib=disk_size_mib, source=path,
    )
    return DescriptionResult(spec, notes)


def _kiwi_type(element: ET.Element, path: Path) -> tuple[tuple[str, ...], ContainerConfig]:
    image = element.get("image")
    if image in _KIWI_CONTAINER:
        config = element.find("containerconfig")
        return ("oci", "docker-archive"), _container_config(config) if config is not None else ContainerConfig()
    if image in _KIWI_DISK:
        disk = _KIWI_DISK_FORMATS.get(element.get("format"))
        if disk is None:
            raise ConfigError(
                f"disk format {element.get('format')!r} is not supported (raw, qcow2, vhd-fixed)", where=Location(path)
            )
        if element.get("filesystem", "ext4") != "ext4":
            raise ConfigError(
                f"root file system {element.get('filesystem')!r} is not supported (ext4)", where=Location(path)
            )
        if element.get("firmware", "efi") not in ("efi", "uefi"):
            raise ConfigError(
                f"firmware {element.get('firmware')!r} is not supported (efi: GPT with an EFI system partition)",
                where=Location(path),
            )
        # As KIWI does, a disk type always gives the raw disk, and its format is converted from it.
        return tuple(dict.fromkeys(("raw", disk))), ContainerConfig()
    if image in _KIWI_WSL:
        return ("wsl",), ContainerConfig()
    raise ConfigError(f"KIWI image type {image!r} is not supported (oci, docker, oem, wsl)", where=Location(path))


def _kiwi_size(element: ET.Element, path: Path) -> int | None:
    """``<size unit="M|G">N</size>`` of a disk type, in MiB (KIWI's default unit is M)."""
    size = element.find("size")
    if size is None:
        return None
    unit = size.get("unit", "M")
    text = (size.text or "").strip()
    if unit not in _KIWI_SIZE_UNITS or not text.isdigit():
        raise ConfigError(f'<size unit="{unit}">{text}</size>: expected a whole number of M or G', where=Location(path))
    return int(text) * _KIWI_SIZE_UNITS[unit]


def _container_config(element: ET.Element) -> ContainerConfig:
    entry = element.find("entrypoint")
    entrypoint = (
        (entry.get("execute", ""), *(a.get("name", "") for a in entry.findall("argument"))) if entry is not None else ()
    )
    sub = element.find("subcommand")
    cmd = (sub.get("execute", ""), *(a.get("name", "") for a in sub.findall("argument"))) if sub is not None else ()
    env = {e.get("name", ""): e.get("value", "") for e in element.iter("env")}
    labels = {label.get("name", ""): label.get("value", "") for label in element.iter("label")}
    return ContainerConfig(name=element.get("name"), tag=element.get("tag") or "latest", entrypoint=entrypoint, cmd=cmd,
                           env=env, labels=labels, workdir=element.get("workingdir"), user=element.get("user"))


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


# --- native TOML ------------------------------------------------------------------------------------

_NATIVE_KEYS = {"version", "formats", "packages", "bootstrap-packages", "distroless", "config-script", "disk-size-mib",
                "container", "users"}
_CONTAINER_KEYS = {"name", "tag", "entrypoint", "cmd", "env", "labels", "workdir", "user"}
_USER_KEYS = {"name", "uid", "gid", "home", "shell", "groups"}


def read_native(path: Path, *, name: str) -> DescriptionResult:
    data = parse_toml(path)
    _known(data, _NATIVE_KEYS, path, ())
    formats = tuple(data.get("formats", ["oci"]))
    for index, value in enumerate(formats):
        if value not in FORMATS:
            _fail(path, ("formats", index), f"unknown image format {value!r} (choose from {', '.join(FORMATS)})")
    container_data = data.get("container", {})
    _known(container_data, _CONTAINER_KEYS, path, ("container",))
    container = ContainerConfig(
        name=container_data.get("name"), tag=container_data.get("tag", "latest"),
        entrypoint=tuple(container_data.get("entrypoint", ())), cmd=tuple(container_data.get("cmd", ())),
        env=dict(container_data.get("env", {})), labels=dict(container_data.get("labels", {})),
        workdir=container_data.get("workdir"), user=container_data.get("user"),
    )
    users = []
    for index, user in enumerate(data.get("users", [])):
        _known(user, _USER_KEYS, path, ("users", index))
        users.append(User(name=user["name"], uid=user.get("uid"), gid=user.get("gid"), home=user.get("home"),
                          shell=user.get("shell"), groups=tuple(user.get("groups", ()))))
    script = None
    if "config-script" in data:
        script = resolve_inside(path.parent, data["config-script"], what="config-script")
        if not script.is_file():
            _fail(path, ("config-script",), f"config-script {data['config-script']!r} does not exist")
    packages = data.get("packages", [])
    if not packages:
        _fail(path, ("packages",), "an image needs at least one package")
    spec = ImageSpec(
        name=name, version=str(data.get("version", "1.0")), formats=formats, packages=tuple(packages),
        bootstrap_packages=tuple(data.get("bootstrap-packages", ())), users=tuple(users), config_script=script,
        container=container, distroless=bool(data.get("distroless", False)), disk_size_mib=data.get("disk-size-mib"),
        source=path,
    )
    return DescriptionResult(spec)


def _known(table: dict[str, Any], allowed: set[str], path: Path, keys: tuple[Any, ...]) -> None:
    from tributary.config.diagnostics import did_you_mean

    for key in table:
        if key not in allowed:
            _fail(path, (*keys, key), f"unknown key {key!r}" + did_you_mean(key, allowed))


def _fail(path: Path, keys: tuple[Any, ...], message: str) -> None:
    from tributary.config.diagnostics import located

    raise located(path, keys, message)
