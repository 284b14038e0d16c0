"""Users and groups of an image, written straight into its account files.

The roots tributary makes need not contain shadow-utils, so ``/etc/passwd``, ``/etc/group``,
``/etc/shadow`` (and ``/etc/gshadow`` when the root has one) are edited as text, each written
atomically with its mode kept.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

from tributary.fsutil import atomic_write
from tributary.image.errors import ImageError
from tributary.image.rootpaths import exists_in_root, inside
from tributary.image.spec import User

_USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_FIRST_REGULAR_ID = 1000
_LAST_REGULAR_ID = 60000


def add_users(root: Path, users: Sequence[User], *, epoch: int, where: str = "image") -> None:
    """Add ``users`` (and their groups) to the root's account files, creating the files when missing.

    The root need not contain shadow-utils, so the entries are written directly. Without ``uid`` a user
    gets the next free id from 1000; without ``gid`` a group of its own name (its gid equal to its uid
    when free). The password is locked (``!``); the last-change day is SOURCE_DATE_EPOCH's. A root
    without ``/etc/passwd`` first gets the ``root`` account. The home directory is created from
    ``/etc/skel`` and owned by the user.
    """
    etc = inside(root, "etc")
    etc.mkdir(mode=0o755, exist_ok=True)
    passwd = _AccountFile(etc / "passwd", 0o644)
    group = _AccountFile(etc / "group", 0o644)
    shadow = _AccountFile(etc / "shadow", 0o000)
    gshadow = _AccountFile(etc / "gshadow", 0o000) if (etc / "gshadow").exists() else None
    day = epoch // 86400
    if "root" not in passwd.names():
        passwd.add(f"root:x:0:0:root:/root:{_default_shell(root)}")
        if "root" not in shadow.names():
            shadow.add(f"root:!:{day}:0:99999:7:::")
    if "root" not in group.names():
        group.add("root:x:0:")
        if gshadow is not None and "root" not in gshadow.names():
            gshadow.add("root:!::")

    for user in users:
        if not _USER_NAME.match(user.name):
            raise ImageError(f"user name {user.name!r} is not valid (lowercase letters, digits, '_' and '-')",
                             where=where)
        if user.name in passwd.names():
            raise ImageError(f"user {user.name!r} already exists in the root", where=where)
        uid = user.uid if user.uid is not None else _next_id(passwd.ids())
        if uid in passwd.ids():
            raise ImageError(f"uid {uid} of user {user.name!r} is already taken", where=where)
        if user.gid is not None:
            gid = user.gid
            if gid not in group.ids():
                _add_group(group, gshadow, user.name, gid, where)
        elif user.name in group.names():
            gid = group.id_of(user.name)
        else:
            gid = uid if uid not in group.ids() else _next_id(group.ids())
            _add_group(group, gshadow, user.name, gid, where)
        for extra in user.groups:
            if extra not in group.names():
                _add_group(group, gshadow, extra, _next_id(group.ids()), where)
            group.add_member(extra, user.name)
            if gshadow is not None and extra in gshadow.names():
                gshadow.add_member(extra, user.name)
        home = user.home or f"/home/{user.name}"
        shell = user.shell or _default_shell(root)
        passwd.add(f"{user.name}:x:{uid}:{gid}::{home}:{shell}")
        shadow.add(f"{user.name}:!:{day}:0:99999:7:::")
        _make_home(root, home, uid, gid)

    for account in (passwd, group, shadow, gshadow):
        if account is not None:
            account.save()

class _AccountFile:
    """``/etc/passwd``-like lines (``name:...``); the third field is the id for passwd and group."""

    def __init__(self, path: Path, mode: int):
        self.path = path
        self.existed = path.exists()
        self.mode = stat.S_IMODE(path.stat().st_mode) if self.existed else mode
        self.lines = path.read_text().splitlines() if self.existed else []
        self.changed = False

    def names(self) -> list[str]:
        return [line.split(":", 1)[0] for line in self.lines if line and not line.startswith("#")]

    def ids(self) -> set[int]:
        found = set()
        for line in self.lines:
            fields = line.split(":")
            if len(fields) > 2 and fields[2].isdigit():
                found.add(int(fields[2]))
        return found

    def id_of(self, name: str) -> int:
        for line in self.lines:
            fields = line.split(":")
            if fields[0] == name and len(fields) > 2 and fields[2].isdigit():
                return int(fields[2])
        raise KeyError(name)

    def add(self, line: str) -> None:
        self.lines.append(line)
        self.changed = True

    def add_member(self, name: str, member: str) -> None:
        for number, line in enumerate(self.lines):
            fields = line.split(":")
            if fields[0] == name and len(fields) >= 4:
                members = [m for m in fields[-1].split(",") if m]
                if member not in members:
                    fields[-1] = ",".join([*members, member])
                    self.lines[number] = ":".join(fields)
                    self.changed = True
                return

    def save(self) -> None:
        if self.changed:
            atomic_write(self.path, "\n".join(self.lines) + "\n", mode=self.mode)

def _add_group(group: _AccountFile, gshadow: _AccountFile | None, name: str, gid: int, where: str) -> None:
    if not _USER_NAME.match(name):
        raise ImageError(f"group name {name!r} is not valid", where=where)
    if gid in group.ids():
        raise ImageError(f"gid {gid} of group {name!r} is already taken", where=where)
    group.add(f"{name}:x:{gid}:")
    if gshadow is not None:
        gshadow.add(f"{name}:!::")

def _next_id(taken: Iterable[int]) -> int:
    regular = [number for number in taken if _FIRST_REGULAR_ID <= number < _LAST_REGULAR_ID]
    return max(regular, default=_FIRST_REGULAR_ID - 1) + 1

def _default_shell(root: Path) -> str:
    for shell in ("/bin/bash", "/bin/sh"):
        if exists_in_root(root, shell):
            return shell
    return "/sbin/nologin"

def _make_home(root: Path, home: str, uid: int, gid: int) -> None:
    """Create the home directory from ``/etc/skel`` (mode 0700, owned by the user) unless it exists."""
    target = inside(root, home.lstrip("/"))
    if target.exists() or target.is_symlink():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    skel = root / "etc" / "skel"
    if skel.is_dir() and not skel.is_symlink():
        shutil.copytree(skel, target, symlinks=True)
    else:
        target.mkdir()
    os.chmod(target, 0o700)
    for directory, dirs, files in os.walk(target):
        os.lchown(directory, uid, gid)
        for name in (*dirs, *files):
            os.lchown(os.path.join(directory, name), uid, gid)
