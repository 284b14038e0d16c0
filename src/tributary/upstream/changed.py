"""``comp changed --from REF``: which components' inputs changed between two commits of the project.

Read from the lock files as git stored them at each commit, so the answer does not depend on the work
tree. ``sourcesChange`` says whether the rendered ``sources`` manifest changed too; a changed manifest
with an unchanged fingerprint means someone edited rendered output by hand (or poisoned a cache), which
is an error, as in azldev.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum

from tributary.config import Project
from tributary.errors import CheckFailed, ConfigError
from tributary.tools import git
from tributary.upstream.lock import Lock, lock_path, parse_lock


class ChangeType(StrEnum):
    ADDED = "added"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    DELETED = "deleted"


@dataclass(frozen=True)
class ChangedRow:
    component: str
    change_type: ChangeType
    sources_change: bool

    def to_json(self) -> dict[str, object]:
        return {"component": self.component, "changeType": self.change_type, "sourcesChange": self.sources_change}


def components_changed(
    project: Project, names: list[str], *, from_ref: str, to_ref: str = "HEAD", include_unchanged: bool = False,
    include_deleted: bool = False,
) -> list[ChangedRow]:
    top = git.toplevel(project.root)
    if top is None:
        raise ConfigError(
            f"{project.root} is not in a git repository", hint="comp changed compares commits of the project"
        )
    for ref in (from_ref, to_ref):
        try:
            git.verify_revision(top, ref)
        except git.GitError as error:
            raise ConfigError(f"{ref!r} names no commit in {top}") from error
    candidates = list(names)
    if include_deleted:
        candidates += _deleted(project, top, from_ref)
    rows = []
    for name in sorted(set(candidates)):
        old = _lock_at(project, top, from_ref, name)
        new = _lock_at(project, top, to_ref, name)
        sources = _relative(top, project.rendered_specs_dir / name[0].lower() / name / "sources")
        sources_change = git.show_file(top, from_ref, sources) != git.show_file(top, to_ref, sources)
        if old is None and new is None:
            continue
        if old is None:
            kind = ChangeType.ADDED
        elif new is None:
            kind = ChangeType.DELETED
        elif old.input_fingerprint != new.input_fingerprint or old.upstream_commit != new.upstream_commit:
            kind = ChangeType.CHANGED
        else:
            kind = ChangeType.UNCHANGED
            if sources_change:
                raise CheckFailed(
                    f"component {name!r}: its rendered sources file changed between {from_ref} and {to_ref} but its "
                    "input fingerprint did not; the rendered tree was edited by hand",
                    hint="render it again with 'trib comp render', "
                    "or run 'trib comp update' if an input really changed",
                )
        if kind != ChangeType.UNCHANGED or include_unchanged:
            rows.append(ChangedRow(name, kind, sources_change))
    return rows


def _relative(top, path) -> str:
    return os.path.relpath(path, top)


def _lock_at(project: Project, top, ref: str, name: str) -> Lock | None:
    relative = _relative(top, lock_path(project.lock_dir, name))
    data = git.show_file(top, ref, relative)
    return None if data is None else parse_lock(data, where=f"{ref}:{relative}")


def _deleted(project: Project, top, ref: str) -> list[str]:
    """Components with a lock at ``ref`` that the configuration no longer defines."""
    relative = _relative(top, project.lock_dir)
    proc = git.run(["ls-tree", "--name-only", f"{ref}:{relative}"], cwd=top, ok=(0, 128))
    names = [line[: -len(".lock")] for line in proc.stdout.decode().splitlines() if line.endswith(".lock")]
    return [name for name in names if name not in project.component_tables]
