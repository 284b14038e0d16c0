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
    return lock_dir / f"{component}.lock"


def parse_lock(text: str, *, where: str | Path) -> Lock:
    """Read a lock's text; anything unexpected is an error naming the file."""
    location = Location(Path(where)) if not isinstance(where, Location) else where
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"lock file is not valid TOML: {exc}", where=location) from None
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise ConfigError(f"unknown key(s) in lock file: {', '.join(unknown)}", where=location)
    if data.get("version") != LOCK_VERSION:
        raise ConfigError(f"lock file version {data.get('version')!r} is not supported (expected {LOCK_VERSION})",
                          where=location, hint="run 'trib comp update' to rewrite it")
    fingerprint = data.get("input-fingerprint")
    if not isinstance(fingerprint, str) or not fingerprint.startswith("sha256:"):
        raise ConfigError("lock file has no valid input-fingerprint", where=location)
    bump = data.get("manual-bump", 0)
    if not isinstance(bump, int) or bump < 0:
        raise ConfigError("manual-bump must be a non-negative integer", where=location)
    return Lock(
        input_fingerprint=fingerprint,
        upstream_commit=data.get("upstream-commit"),
        import_commit=data.get("import-commit"),
        manual_bump=bump,
        resolution_input_hash=data.get("resolution-input-hash"),
    )


def read_lock(path: Path) -> Lock | None:
    """The lock at ``path``, or None when the component has none yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return parse_lock(text, where=path)


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
