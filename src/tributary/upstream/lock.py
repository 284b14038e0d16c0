"""Lock files: ``<lock-dir>/<component>.lock``, the one place that knows their format.

A lock records what a component was resolved to, so that render and build are reproducible without
contacting upstream, and so that the project's git history of the lock tells when the component's
inputs changed (which drives release numbers). The fields follow azldev's:

```toml
# Managed by trib comp update. Do not edit manually.
version = 1
import-commit = "<first upstream commit this distribution took; written once>"
upstream-commit = "<the upstream commit in use>"
manual-bump = 1          # omitted when 0
input-fingerprint = "sha256:<hex>"
resolution-input-hash = "sha256:<hex>"   # upstream components only
```

Local components get a lock too, with just the fingerprint.

A lock that cannot be read (not UTF-8 text, not TOML, a field missing or of the wrong type: a
damaged or truncated file) is a ``LockFileError`` naming the file and the two ways out: restore it
from git, or let ``comp update NAME --force`` write it again.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from tributary.errors import ConfigError, Location
from tributary.fsutil import atomic_write

LOCK_VERSION = 1
HEADER = "# Managed by trib comp update. Do not edit manually."
_KEYS = ("version", "import-commit", "upstream-commit", "manual-bump", "input-fingerprint", "resolution-input-hash")


@dataclass(frozen=True)
class Lock:
    input_fingerprint: str
    upstream_commit: str | None = None
    import_commit: str | None = None
    manual_bump: int = 0
    resolution_input_hash: str | None = None


def lock_path(lock_dir: Path, component: str) -> Path:
    return lock_dir / lock_file_name(component)


def lock_file_name(component: str) -> str:
    return f"{component}.lock"


class LockFileError(ConfigError):
    """A lock file that cannot be read: damaged, truncated, or written by something else."""


def parse_lock(text: str | bytes, *, where: str | Path) -> Lock:
    """Read a lock's text (or bytes); anything unexpected is a LockFileError naming the file."""
    location = Location(Path(where))
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _damaged(f"lock file is not UTF-8 text (byte 0x{text[exc.start]:02x} at offset {exc.start}): "
                           "it is damaged", location) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _damaged(f"lock file is not valid TOML ({exc}): it is damaged or truncated", location) from None
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise _damaged(f"unknown key(s) in lock file: {', '.join(unknown)}", location)
    if data.get("version") != LOCK_VERSION:
        raise _damaged(f"lock file version {data.get('version')!r} is not supported (expected {LOCK_VERSION})",
                       location)
    fingerprint = data.get("input-fingerprint")
    if not isinstance(fingerprint, str) or not fingerprint.startswith("sha256:"):
        raise _damaged("lock file has no valid input-fingerprint: it is damaged or truncated", location)
    bump = data.get("manual-bump", 0)
    if not isinstance(bump, int) or isinstance(bump, bool) or bump < 0:
        raise _damaged("manual-bump must be a non-negative integer", location)
    commits = {key: data.get(key) for key in ("upstream-commit", "import-commit", "resolution-input-hash")}
    for key, value in commits.items():
        if value is not None and not isinstance(value, str):
            raise _damaged(f"{key} must be a string", location)
    return Lock(
        input_fingerprint=fingerprint,
        upstream_commit=commits["upstream-commit"],
        import_commit=commits["import-commit"],
        manual_bump=bump,
        resolution_input_hash=commits["resolution-input-hash"],
    )


def _damaged(message: str, location: Location) -> LockFileError:
    """The error for an unreadable lock, with how to recover (the component is the file's stem)."""
    name = location.path.name.removesuffix(".lock")
    return LockFileError(message, where=location,
                         hint=f"restore it from git (git checkout -- {location}), or run 'trib comp update {name} "
                              "--force' to write it again")


def read_lock(path: Path) -> Lock | None:
    """The lock at ``path``, or None when the component has none yet."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return parse_lock(data, where=path)


def format_lock(lock: Lock) -> str:
    lines = [HEADER, f"version = {LOCK_VERSION}"]
    if lock.import_commit:
        lines.append(f'import-commit = "{lock.import_commit}"')
    if lock.upstream_commit:
        lines.append(f'upstream-commit = "{lock.upstream_commit}"')
    if lock.manual_bump:
        lines.append(f"manual-bump = {lock.manual_bump}")
    lines.append(f'input-fingerprint = "{lock.input_fingerprint}"')
    if lock.resolution_input_hash:
        lines.append(f'resolution-input-hash = "{lock.resolution_input_hash}"')
    return "\n".join(lines) + "\n"


def write_lock(path: Path, lock: Lock) -> None:
    atomic_write(path, format_lock(lock))
