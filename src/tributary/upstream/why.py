"""``comp why NAME --from REF``: what changed in one component between two commits of the project.

``comp changed`` says *that* a component's fingerprint moved; this says *why*, field by field of the
fingerprint (``upstream.fingerprint``), each change with the place that made it:

* ``config``: every key of the resolved configuration the fingerprint hashes that differs, with the
  ``file:line`` (or layer) that set it on each side, so a change that came from a distro default or a
  group shows that file and not the component's;
* ``upstream-commit`` (the lock's line), or for a local spec each file of its directory that differs;
* ``manual-bump`` (the lock's line), ``release-ver`` (the distro version's);
* ``overlay-file``: a file an overlay copies whose content changed;
* ``tributary``: the lock at a commit records a fingerprint that this tributary, computing it again
  from that commit's inputs, does not reach: tributary's own rules (or the lock's writer) changed;
* ``rendered``: each rendered file that differs, with the line of each changed block.

Both commits are read from git (written to temporary directories and loaded as projects), so the
answer does not depend on the work tree. Places are written ``REF:path:line``.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from tributary.config import Project, ResolvedComponent, load_project
from tributary.errors import ConfigError, TribError
from tributary.tools import git, gitlib
from tributary.upstream.fingerprint import file_sha256, hashed_config, input_fingerprint, release_ver
from tributary.upstream.lock import Lock, lock_path, parse_lock

MAX_HUNKS = 5  # changed blocks listed per rendered file; the rest are counted


class Aspect(StrEnum):
    CONFIG = "config"
    UPSTREAM_COMMIT = "upstream-commit"
    LOCAL_SPEC = "local-spec"
    MANUAL_BUMP = "manual-bump"
    RELEASE_VER = "release-ver"
    OVERLAY_FILE = "overlay-file"
    TRIBUTARY = "tributary"
    COMPONENT = "component"
    RENDERED = "rendered"


@dataclass(frozen=True)
class Change:
    aspect: Aspect
    what: str
    before: str | None
    after: str | None
    where: str

    def to_json(self) -> dict[str, object]:
        return {"aspect": self.aspect, "what": self.what, "before": self.before, "after": self.after,
                "where": self.where}


@dataclass
class _Side:
    """The project as one commit holds it."""

    ref: str
    root: Path  # the temporary copy
    project: Project
    component: ResolvedComponent | None
    lock: Lock | None
    lock_file: str

    def place(self, text: str) -> str:
        """``REF:relative/path:line`` for a place inside the copy."""
        return text.replace(f"{self.root}/", f"{self.ref}:")

    def lock_line(self, key: str) -> str:
        path = self.root / self.lock_file
        if path.is_file():
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if re.match(rf"\s*{re.escape(key)}\s*=", line):
                    return f"{self.ref}:{self.lock_file}:{number}"
        return f"{self.ref}:{self.lock_file}"


def explain(project: Project, name: str, *, from_ref: str, to_ref: str = "HEAD") -> list[Change]:
    """What changed in component ``name`` from ``from_ref`` to ``to_ref`` (commits of the project's
    repository); an empty list when nothing that decides its output did."""
    top = git.toplevel(project.root)
    if top is None:
        raise ConfigError(f"{project.root} is not in a git repository",
                          hint="comp why compares commits of the project")
    for ref in (from_ref, to_ref):
        try:
            git.verify_revision(top, ref)
        except git.GitError as error:
            raise ConfigError(f"{ref!r} names no commit in {top}") from error
    inside = project.root.resolve().relative_to(top.resolve()).as_posix()
    with tempfile.TemporaryDirectory(prefix="trib-why-") as scratch:
        old = _side(top, inside, from_ref, Path(scratch, "from"), project, name)
        new = _side(top, inside, to_ref, Path(scratch, "to"), project, name)
        if old.component is None and new.component is None:
            raise ConfigError(f"no component {name!r} at {from_ref} or at {to_ref}")
        if old.component is None or new.component is None:
            present = new if old.component is None else old
            return [Change(Aspect.COMPONENT, "added" if old.component is None else "removed",
                           None if old.component is None else name, None if new.component is None else name,
                           f"{present.ref}:{_first_place(present, name)}")]
        return [*_inputs(old, new, name), *_rendered(old, new, name)]


def _side(top: Path, inside: str, ref: str, root: Path, current: Project, name: str) -> _Side:
    root.mkdir(parents=True)
    gitlib.export_tree(top, ref, inside, root)
    try:
        project = load_project(root)
    except TribError as error:
        error.message = f"the project at {ref} does not load: {str(error).replace(f'{root}/', f'{ref}:')}"
        raise
    component = project.resolve(name) if name in project.component_names else None
    lock_file = lock_path(project.lock_dir, name).relative_to(root).as_posix()
    data = (root / lock_file).read_bytes() if (root / lock_file).is_file() else None
    lock = None if data is None else parse_lock(data, where=f"{ref}:{lock_file}")
    return _Side(ref, root, project, component, lock, lock_file)


def _first_place(side: _Side, name: str) -> str:
    trace = side.project.trace(name)
    return side.place(next(iter(trace.values()), "")).split(" (", 1)[0].removeprefix(f"{side.ref}:")


def _inputs(old: _Side, new: _Side, name: str) -> Iterator[Change]:
    assert old.component is not None and new.component is not None
    yield from _config(old, new, name)
    a, b = old.component.local_spec, new.component.local_spec
    if a is None and b is None:
        before, after = old.lock.upstream_commit if old.lock else None, new.lock.upstream_commit if new.lock else None
        if before != after:
            yield Change(Aspect.UPSTREAM_COMMIT, "the locked upstream commit", before, after,
                         new.lock_line("upstream-commit") if new.lock else old.lock_line("upstream-commit"))
    else:
        yield from _local_files(old, new, a, b)
    bump_a, bump_b = old.lock.manual_bump if old.lock else 0, new.lock.manual_bump if new.lock else 0
    if bump_a != bump_b:
        yield Change(Aspect.MANUAL_BUMP, "the lock's manual bump", str(bump_a), str(bump_b),
                     new.lock_line("manual-bump"))
    ver_a, ver_b = release_ver(old.project, old.component), release_ver(new.project, new.component)
    if ver_a != ver_b:
        yield Change(Aspect.RELEASE_VER, "the distro version's release-ver", ver_a, ver_b, _release_ver_place(new))
    yield from _overlay_files(old, new, name)
    for side in (old, new):
        if side.lock is None:
            continue
        computed = input_fingerprint(side.project, side.component,  # type: ignore[arg-type]
                                     upstream_commit=side.lock.upstream_commit, manual_bump=side.lock.manual_bump)
        if computed != side.lock.input_fingerprint:
            yield Change(Aspect.TRIBUTARY, f"the lock at {side.ref} records a fingerprint this tributary does not "
                         "compute from that commit's inputs (other fingerprint rules, or the lock is stale)",
                         side.lock.input_fingerprint, computed, side.lock_line("input-fingerprint"))


def _config(old: _Side, new: _Side, name: str) -> Iterator[Change]:
    assert old.component is not None and new.component is not None
    flat_a = dict(_flatten(hashed_config(old.component)))
    flat_b = dict(_flatten(hashed_config(new.component)))
    trace_a, trace_b = old.project.trace(name), new.project.trace(name)
    for key in sorted(flat_a.keys() | flat_b.keys()):
        before, after = flat_a.get(key), flat_b.get(key)
        if before == after:
            continue
        side, trace = (new, trace_b) if key in flat_b else (old, trace_a)
        yield Change(Aspect.CONFIG, key, before, after, side.place(_traced(trace, key)))


def _flatten(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Dotted keys in the TOML's kebab-case spelling (as ``comp query -v`` traces them), leaves as JSON;
    an empty table or list is as good as none (a table written for one key brings its empty siblings)."""
    if value == {} or value == []:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            spelled = re.sub(r"(?<=[a-z0-9])([A-Z])", r"-\1", key).lower()
            yield from _flatten(item, f"{path}.{spelled}" if path else spelled)
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        for index, item in enumerate(value):
            yield from _flatten(item, f"{path}[{index}]")
    else:
        yield path, json.dumps(value, sort_keys=True)


def _traced(trace: dict[str, str], key: str) -> str:
    """The place that set ``key``, or its nearest traced parent (a list or table set as a whole)."""
    probe = key
    while probe:
        if probe in trace:
            return trace[probe]
        cut = max(probe.rfind("."), probe.rfind("["))
        probe = probe[:cut] if cut > 0 else ""
    return "(default)"


def _local_files(old: _Side, new: _Side, a: Path | None, b: Path | None) -> Iterator[Change]:
    files_a = _hashes(a.parent) if a is not None else {}
    files_b = _hashes(b.parent) if b is not None else {}
    base = b if b is not None else a
    assert base is not None
    side = new if b is not None else old
    directory = base.parent.relative_to(side.root).as_posix()
    for relative in sorted(files_a.keys() | files_b.keys()):
        before, after = files_a.get(relative), files_b.get(relative)
        if before != after:
            where = f"{(new if after else old).ref}:{directory}/{relative}"
            yield Change(Aspect.LOCAL_SPEC, f"{directory}/{relative}", before and f"sha256:{before[:12]}",
                         after and f"sha256:{after[:12]}", where + _first_changed_line(
                             old.root / directory / relative, new.root / directory / relative))


def _hashes(directory: Path) -> dict[str, str]:
    return {path.relative_to(directory).as_posix(): file_sha256(path)
            for path in sorted(directory.rglob("*")) if path.is_file() and ".git" not in path.parts}


def _first_changed_line(a: Path, b: Path) -> str:
    if not (a.is_file() and b.is_file()):
        return ""
    for number, (x, y) in enumerate(zip(_lines(a), _lines(b), strict=False), 1):
        if x != y:
            return f":{number}"
    return ""


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="surrogateescape").splitlines()


def _release_ver_place(side: _Side) -> str:
    trace = side.project.trace(side.component.name) if side.component else {}
    return side.place(_traced(trace, "spec.upstream-distro")) if side.component and side.component.upstream \
        else f"{side.ref}:{side.project.root.joinpath('azldev.toml').relative_to(side.root).as_posix()}"


def _overlay_files(old: _Side, new: _Side, name: str) -> Iterator[Change]:
    def copied(side: _Side) -> dict[int, tuple[str, str, Path]]:
        assert side.component is not None
        found = {}
        for index, overlay in enumerate(side.component.config.overlays):
            pair = overlay.copied_file()
            if pair is not None:
                found[index] = (pair[0], file_sha256(pair[1]) if pair[1].is_file() else "", pair[1])
        return found

    files_a, files_b = copied(old), copied(new)
    for index in sorted(files_a.keys() | files_b.keys()):
        before, after = files_a.get(index), files_b.get(index)
        if before is None or after is None or before[:2] == after[:2]:
            continue  # an overlay added or removed is a config change, listed there
        where = f"{new.ref}:{after[2].relative_to(new.root).as_posix()}"
        yield Change(Aspect.OVERLAY_FILE, f"overlay #{index + 1} copies {after[0]} "
                     f"(overlay at {new.place(str(new.project.overlay_location(name, index)))})",
                     f"sha256:{before[1][:12]}", f"sha256:{after[1][:12]}",
                     where + _first_changed_line(before[2], after[2]))


def _rendered(old: _Side, new: _Side, name: str) -> Iterator[Change]:
    assert old.component is not None and new.component is not None
    dir_a, dir_b = old.component.rendered_dir, new.component.rendered_dir
    files_a = {p.relative_to(dir_a).as_posix(): p for p in sorted(dir_a.rglob("*")) if p.is_file()} \
        if dir_a.is_dir() else {}
    files_b = {p.relative_to(dir_b).as_posix(): p for p in sorted(dir_b.rglob("*")) if p.is_file()} \
        if dir_b.is_dir() else {}
    shown = dir_b.relative_to(new.root).as_posix()
    for relative in sorted(files_a.keys() | files_b.keys()):
        a, b = files_a.get(relative), files_b.get(relative)
        if a is not None and b is not None and a.read_bytes() == b.read_bytes():
            continue
        if a is None or b is None:
            present = b or a
            assert present is not None
            yield Change(Aspect.RENDERED, f"{shown}/{relative}", None if a is None else _digest(present),
                         None if b is None else _digest(present), f"{(new if b else old).ref}:{shown}/{relative}")
            continue
        yield from _hunks(new.ref, f"{shown}/{relative}", a, b)


def _digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _hunks(ref: str, shown: str, a: Path, b: Path) -> Iterator[Change]:
    """One change per block of differing lines (the first MAX_HUNKS, then a count of the rest)."""
    lines_a, lines_b = _lines(a), _lines(b)
    blocks = [op for op in difflib.SequenceMatcher(None, lines_a, lines_b, autojunk=False).get_opcodes()
              if op[0] != "equal"]
    for _, i1, i2, j1, j2 in blocks[:MAX_HUNKS]:
        yield Change(Aspect.RENDERED, shown, "\n".join(lines_a[i1:i2]) or None, "\n".join(lines_b[j1:j2]) or None,
                     f"{ref}:{shown}:{j1 + 1}")
    if len(blocks) > MAX_HUNKS:
        yield Change(Aspect.RENDERED, shown, None, None,
                     f"{ref}:{shown}: {len(blocks) - MAX_HUNKS} more changed block(s)")
