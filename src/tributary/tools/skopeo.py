"""skopeo, the program: reading and converting container images that tributary wrote as local files.

tributary writes OCI image layouts itself (``tributary.image.oci``); skopeo is used for what a second,
independent implementation is good for: converting a layout to another transport (``docker-archive``
for ``docker load``) and reading it back the way registries and runtimes will (``inspect``), so a
mistake in our layout shows up as skopeo's complaint rather than a user's.

Only local transports are used, so no registry credentials, no network and no signature policy are
involved: ``--insecure-policy`` skips the host's ``/etc/containers/policy.json``, which may not exist
and which governs pulls from registries, not copies between two files we just wrote. Failures become
SkopeoError carrying skopeo's own last message.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tributary.tools import process

PROGRAM = "skopeo"

# skopeo 1.9 prints fatal errors through logrus: time="..." level=fatal msg="..."
_FATAL = re.compile(r'level=(?:fatal|error) msg="(?P<msg>(?:[^"\\]|\\.)*)"')


TIMEOUT = 1800.0
"""Seconds one skopeo command may take: copying a large image between two local files."""


class SkopeoError(process.ToolError):
    """skopeo is missing or failed; ``stderr`` has its whole complaint."""


def require() -> str:
    """The path of skopeo; SkopeoError saying how to install it when it is missing."""
    return process.require(PROGRAM, package="skopeo", purpose="for docker-archive images and to check OCI layouts",
                           error=SkopeoError)


def version() -> str:
    """skopeo's version number (``skopeo version 1.9.3`` gives ``1.9.3``)."""
    proc = _run([require(), "--version"])
    return proc.stdout.strip().rsplit(" ", 1)[-1]


def oci_reference(layout: Path, tag: str) -> str:
    """``oci:<layout>:<tag>``; the layout path must not contain ``:``, which skopeo would split on."""
    text = str(Path(layout).absolute())
    if ":" in text:
        raise SkopeoError(f"an OCI layout path with ':' cannot be named to skopeo: {text}")
    return f"oci:{text}:{tag}"


def docker_archive_reference(path: Path, name: str | None = None, tag: str | None = None) -> str:
    """``docker-archive:<file>[:<name>:<tag>]``: the file and (to write) the name ``docker load`` gives it;
    reading an archive of one image needs no name."""
    text = str(Path(path).absolute())
    if ":" in text:
        raise SkopeoError(f"a docker-archive path with ':' cannot be named to skopeo: {text}")
    return f"docker-archive:{text}:{name}:{tag}" if name and tag else f"docker-archive:{text}"


def inspect_args(reference: str, *, config: bool = False, raw: bool = False) -> list[str]:
    """``skopeo inspect`` of a local reference; ``config`` shows the image configuration instead."""
    args = [PROGRAM, "--insecure-policy", "inspect"]
    if config:
        args.append("--config")
    if raw:
        args.append("--raw")
    return [*args, reference]


def inspect(reference: str, *, config: bool = False, raw: bool = False) -> dict[str, Any]:
    """What skopeo reads from ``reference``, as JSON (digest, labels, layers; or the config with ``config``)."""
    require()
    return process.json_object(_run(inspect_args(reference, config=config, raw=raw)), error=SkopeoError)


def copy_args(source: str, destination: str) -> list[str]:
    """``skopeo copy`` between two local references, without signatures or compression changes."""
    return [PROGRAM, "--insecure-policy", "copy", "--quiet", source, destination]


def copy(source: str, destination: str) -> None:
    """Copy an image from ``source`` to ``destination`` (both local transports)."""
    require()
    _run(copy_args(source, destination))


def _run(command: list[str]) -> process.CompletedProcess[str]:
    verb = next((arg for arg in command[1:] if not arg.startswith("-")), "")
    return process.run(command, timeout=TIMEOUT, name=f"skopeo {verb}", complaint=last_message, error=SkopeoError)


def last_message(stderr: str) -> str:
    """skopeo's fatal message, unquoted from its log format; else the last line it printed."""
    matches = _FATAL.findall(stderr)
    if matches:
        return str(matches[-1]).replace('\\"', '"').replace("\\\\", "\\")
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""
