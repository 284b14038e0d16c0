"""Damaged lock files: random bytes or a truncated lock is a clear error naming the file and what to do
(render, update, update --check-only), nothing else is touched, and ``update --force`` replaces it.

On fc1b5b1: a lock of random bytes crashes every command with a UnicodeDecodeError traceback (exit 1,
first line "Traceback (most recent call last):"), ``update --force`` included; a truncated lock is
refused by ``update --force`` with "lock file has no valid input-fingerprint" and no hint.
"""

from __future__ import annotations

import json
import random
import tomllib
from pathlib import Path

import pytest
from support import ExampleDistro, components, copy_example_distro, run_trib, tree

_RNG = random.Random(14)
RANDOM_BYTES = bytes(_RNG.randrange(256) for _ in range(300))


def _first_bad_byte(data: bytes) -> tuple[int, int]:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        return data[error.start], error.start
    raise AssertionError("the random bytes happen to be UTF-8")


@pytest.fixture
def locked(tmp_path: Path, example_upstream) -> ExampleDistro:
    """The example distribution with every lock written and committed, and rendered."""
    distro = copy_example_distro(tmp_path, example_upstream.root)
    code, _, err = run_trib(distro.args("comp", "update", "-a"))
    assert code == 0, err
    distro.commit_all("Lock every component")
    code, _, err = run_trib(distro.args("comp", "render", "-a"))
    assert code == 0, err
    return distro


def _hint(lock: Path) -> str:
    return (f"(hint: restore it from git (git checkout -- {lock}), or run 'trib comp update greet --force' to "
            "write it again)")


def _damaged(good: bytes, damage: str) -> tuple[bytes, str]:
    """The damaged lock and what the error must say about it."""
    if damage == "random-bytes":
        byte, offset = _first_bad_byte(RANDOM_BYTES)
        return RANDOM_BYTES, f"lock file is not UTF-8 text (byte 0x{byte:02x} at offset {offset}): it is damaged"
    if damage == "cut-mid-line":
        cut = good[: good.index(b"input-fingerprint") + 8]
        try:
            tomllib.loads(cut.decode())
        except tomllib.TOMLDecodeError as error:
            return cut, f"lock file is not valid TOML ({error}): it is damaged or truncated"
        raise AssertionError("the cut lock is valid TOML")
    cut = good[: good.index(b"input-fingerprint")]  # whole lines, the fingerprint's missing
    return cut, "lock file has no valid input-fingerprint: it is damaged or truncated"


@pytest.mark.parametrize("damage", ["random-bytes", "cut-mid-line", "cut-between-lines"])
def test_a_damaged_lock_is_named_with_the_way_out_and_nothing_else_is_touched(locked: ExampleDistro, damage: str) -> None:
    lock = locked.root / "locks" / "greet.lock"
    good = lock.read_bytes()
    damaged, what = _damaged(good, damage)
    lock.write_bytes(damaged)
    first_line = f"error: {lock}: {what} {_hint(lock)}"
    before = tree(locked.root)

    for args in (["comp", "update", "-a"], ["comp", "update", "-a", "--check-only"]):
        code, _, err = run_trib(locked.args(*args))
        assert code == 2, err
        assert err.splitlines()[0] == first_line
        assert err.splitlines()[-1] == (f"error: 1 of {len(components(locked))} component(s) failed; every other one was "
                                        f"{'checked' if '--check-only' in args else 'locked'}: greet")
        assert tree(locked.root) == before  # nothing written, the damaged file kept for inspection

    code, _, err = run_trib(locked.args("comp", "render", "-a"))
    assert code == 1
    assert err.splitlines()[0] == first_line
    after = tree(locked.root)
    assert after["locks/greet.lock"] == before["locks/greet.lock"]
    changed = {name for name in set(before) | set(after) if before.get(name) != after.get(name)
               and not name.startswith("build/")}  # the work directory's caches may change
    assert changed and all(name.startswith("specs/g/greet/") for name in changed)  # only greet: the marker
    assert after["specs/g/greet/RENDER_FAILED"].startswith(b"tributary could not render this component")

    code, _, err = run_trib(locked.args("comp", "update", "greet", "--force"))
    assert code == 0, err
    assert err.splitlines()[0] == (
        f"warning: component 'greet': replaced the damaged lock {lock} "
        f"({what.split(':')[0]}); import-commit and manual-bump come from its last committed version")
    assert lock.read_bytes() == good  # the same lock as committed: nothing about greet changed
    code, _, err = run_trib(locked.args("comp", "render", "-a"))
    assert code == 0, err
    assert tree(locked.root / "specs") == {k[len("specs/"):]: v for k, v in before.items() if k.startswith("specs/")}


def test_force_replaces_a_damaged_lock_that_was_never_committed(tmp_path: Path, example_upstream) -> None:
    distro = copy_example_distro(tmp_path, example_upstream.root)
    code, _, err = run_trib(distro.args("comp", "update", "-a"))
    assert code == 0, err
    lock = distro.root / "locks" / "libgreet.lock"
    good = lock.read_bytes()
    lock.write_bytes(b"version = 1\ninput-fingerprint = 7\n")
    code, out, err = run_trib(distro.args("-O", "json", "comp", "update", "libgreet", "--force"))
    assert code == 0, err
    assert err.splitlines()[0].endswith("no readable committed version: it starts afresh")
    assert [row["status"] for row in json.loads(out)] == ["new"]
    assert lock.read_bytes() == good  # import-commit is the commit locked now, as on a first lock
