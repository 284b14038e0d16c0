"""The distro snapshot written as a bare TOML date-time, or quoted with another offset, names the same
instant as the quoted form the locks were made with: ``update --check-only`` finds every lock current.

On fc1b5b1: the bare date-time form exits 1 with "all 7 lock(s) are current" on stdout, every upstream
lock ``inputs-changed`` in JSON: the resolution hash took the text, not the instant.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import components, copy_example_distro, run_trib, tree

QUOTED = 'snapshot = "2025-04-01T00:00:00Z"'


@pytest.mark.parametrize("written", ["snapshot = 2025-04-01T00:00:00Z", "snapshot = 2025-04-01T02:00:00+02:00",
                                     'snapshot = "2025-03-31T19:00:00-05:00"'])
def test_the_same_instant_in_another_form_keeps_every_lock_current(tmp_path: Path, example_upstream, written: str) -> None:
    distro = copy_example_distro(tmp_path, example_upstream.root)
    code, _, err = run_trib(distro.args("comp", "update", "-a"))
    assert code == 0, err
    distro_file = distro.root / "distro/tribex.distro.toml"
    text = distro_file.read_text()
    assert QUOTED in text
    distro_file.write_text(text.replace(QUOTED, written))
    locks = tree(distro.root / "locks")

    code, out, err = run_trib(distro.args("comp", "update", "-a", "--check-only"))
    assert (code, out, err) == (0, "", f"all {len(components(distro))} lock(s) are current\n")  # the empty-table note goes to stderr
    code, out, err = run_trib(distro.args("-O", "json", "comp", "update", "-a"))
    assert code == 0, err
    assert {row["status"] for row in json.loads(out)} == {"current"}
    assert tree(distro.root / "locks") == locks


def test_another_instant_is_a_change(tmp_path: Path, example_upstream) -> None:
    distro = copy_example_distro(tmp_path, example_upstream.root)
    assert run_trib(distro.args("comp", "update", "-a"))[0] == 0
    distro_file = distro.root / "distro/tribex.distro.toml"
    distro_file.write_text(distro_file.read_text().replace(QUOTED, "snapshot = 2025-04-01T00:00:01Z"))
    code, out, err = run_trib(distro.args("-O", "json", "comp", "update", "-a", "--check-only"))
    assert code == 1, err
    # The inputs changed; the commits the new instant selects did not.
    rows = [row for row in json.loads(out) if row["status"] != "current"]
    assert rows and {row["status"] for row in rows} == {"inputs-changed"}
