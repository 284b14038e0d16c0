"""Lock files, `comp update` freshness rules, `comp changed`, and render reading locks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support import copy_example_distro, run_git

from tributary.config import load_project
from tributary.errors import ConfigError
from tributary.upstream.lock import Lock, format_lock, parse_lock


@pytest.fixture
def distro(tmp_path: Path, example_upstream) -> Path:
    """A git repository holding a copy of the example distro, its upstream on file://."""
    return copy_example_distro(tmp_path, example_upstream.root).root


def commit_all(root: Path, message: str) -> None:
    run_git("add", "-A", cwd=root)
    run_git("commit", "-qm", message, cwd=root)


def trib_in(trib, root: Path, *args: str):
    return trib("-C", str(root), "--config-file", str(root.parent / "mirror.toml"), *args)


def test_lock_format_round_trips_and_rejects_unknown_versions() -> None:
    lock = Lock("sha256:ab", upstream_commit="c" * 40, import_commit="d" * 40, manual_bump=2, resolution_input_hash="sha256:ef")
    text = format_lock(lock)
    assert text.splitlines()[0] == "# Managed by trib comp update. Do not edit manually."
    assert parse_lock(text, where="x.lock") == lock
    with pytest.raises(ConfigError, match="version 2 is not supported"):
        parse_lock(text.replace("version = 1", "version = 2"), where="x.lock")
    with pytest.raises(ConfigError, match="unknown key"):
        parse_lock(text + "extra = 1\n", where="x.lock")


def test_update_writes_locks_then_is_current_without_network(distro: Path, trib, example_upstream) -> None:
    first = trib_in(trib, distro, "-O", "json", "comp", "update", "-a")
    assert first.code == 0, first.err
    rows = {r["component"]: r for r in json.loads(first.out)}
    assert rows["greet"]["status"] == "new"
    assert rows["greet"]["upstreamCommit"] == example_upstream.commits("greet")[3]  # the pin wins
    assert rows["greet-data"]["upstreamCommit"] == example_upstream.commits("greet-data")[0]  # the snapshot
    assert rows["tribex-release"]["upstreamCommit"] is None
    lock = (distro / "locks/greet.lock").read_text()
    assert f'import-commit = "{example_upstream.commits("greet")[3]}"' in lock

    # Without network: the mirror's upstream disappears, and current locks still need nothing from it.
    moved = example_upstream.root.with_name("moved-away")
    example_upstream.root.rename(moved)
    try:
        again = trib_in(trib, distro, "-O", "json", "comp", "update", "-a")
        assert again.code == 0, again.err
        assert {r["status"] for r in json.loads(again.out)} == {"current"}
        # --check-only asks upstream whether each locked commit is still on its branch: it cannot say
        # without upstream, and says so for every component it could not check.
        check = trib_in(trib, distro, "comp", "update", "-a", "--check-only")
        assert check.code == 2
        first = min(json.loads(again.out), key=lambda row: row["component"])["component"]
        assert check.err.splitlines()[0].startswith(f"error: component '{first}': no dist-git repository at")
        assert "every other one was checked" in check.err.splitlines()[-1]
    finally:
        moved.rename(example_upstream.root)


def test_changed_build_input_keeps_the_commit_and_check_only_fails(distro: Path, trib) -> None:
    trib_in(trib, distro, "comp", "update", "-a")
    before = (distro / "locks/libgreet.lock").read_text()
    comp = distro / "base/comps/libgreet/libgreet.comp.toml"
    comp.write_text(comp.read_text().replace('tribex_hardening = "1"', 'tribex_hardening = "2"'))
    check = trib_in(trib, distro, "comp", "update", "-a", "--check-only")
    assert check.code == 1 and "libgreet" in check.out
    assert (distro / "locks/libgreet.lock").read_text() == before  # --check-only writes nothing
    result = trib_in(trib, distro, "-O", "json", "comp", "update", "libgreet")
    row = json.loads(result.out)[0]
    assert row["status"] == "inputs-changed" and row["upstreamCommit"] == row["previousCommit"]
    after = (distro / "locks/libgreet.lock").read_text()
    assert after != before and before.split("input-fingerprint")[0] == after.split("input-fingerprint")[0]


def test_snapshot_move_resolves_again_and_render_refuses_a_stale_lock(distro: Path, trib, example_upstream) -> None:
    trib_in(trib, distro, "comp", "update", "-a")
    distro_file = distro / "distro/tribex.distro.toml"
    distro_file.write_text(distro_file.read_text().replace("2025-04-01T00:00:00Z", "2025-06-01T00:00:00Z"))
    stale = trib_in(trib, distro, "comp", "render", "greet-data")
    assert stale.code == 1
    assert "greet-data.lock: component 'greet-data': its lock no longer matches the configuration" in stale.err
    assert "trib comp update greet-data" in stale.err
    update = trib_in(trib, distro, "-O", "json", "comp", "update", "greet-data")
    row = json.loads(update.out)[0]
    assert row["status"] == "resolved" and row["upstreamCommit"] == example_upstream.commits("greet-data")[1]
    assert trib_in(trib, distro, "comp", "render", "greet-data").code == 0


def test_render_uses_the_locked_commit(distro: Path, trib, example_upstream) -> None:
    trib_in(trib, distro, "comp", "update", "-a")
    lock_file = distro / "locks/greet-data.lock"
    newer = example_upstream.commits("greet-data")[1]
    # A lock naming the newer commit (as a later 'comp update' with another snapshot would) is what
    # render follows, not the snapshot.
    lock_file.write_text(lock_file.read_text().replace(example_upstream.commits("greet-data")[0], newer))
    project = load_project(distro, extra_files=[distro.parent / "mirror.toml"])
    from tributary.render.render import render_one

    assert render_one(project, "greet-data", check=False).status == "ok"
    spec = (distro / "specs/g/greet-data/greet-data.spec").read_text()
    subject = run_git("--git-dir", str(example_upstream.git_dir("greet-data")), "log", "-1", "--format=%s", newer, cwd=distro)
    assert f"- {subject.replace('%', '%%')}" in spec  # the newer commit is in the expanded changelog


def test_orphan_locks_are_pruned_with_all(distro: Path, trib) -> None:
    trib_in(trib, distro, "comp", "update", "-a")
    orphan = distro / "locks/gone.lock"
    orphan.write_text((distro / "locks/tribex-release.lock").read_text())
    check = trib_in(trib, distro, "comp", "update", "-a", "--check-only")
    assert check.code == 1 and orphan.exists()
    assert trib_in(trib, distro, "comp", "update", "-a").code == 0
    assert not orphan.exists()


def test_changed_between_commits(distro: Path, trib) -> None:
    trib_in(trib, distro, "comp", "update", "-a")
    commit_all(distro, "locks")
    comp = distro / "base/comps/greet/greet.comp.toml"
    comp.write_text(comp.read_text().replace('"Tributary Example Linux"', '"Tributary Example Linux 1.0"'))
    shutil.rmtree(distro / "base/comps/greet-data")
    trib_in(trib, distro, "comp", "update", "-a")
    commit_all(distro, "vendor and drop greet-data")
    result = trib_in(trib, distro, "-O", "json", "comp", "changed", "--from", "HEAD~1")
    assert result.code == 0, result.err
    assert json.loads(result.out) == [
        {"component": "greet", "changeType": "changed", "sourcesChange": False},
        {"component": "greet-data", "changeType": "deleted", "sourcesChange": False},
    ]
    assert json.loads(trib_in(trib, distro, "-O", "json", "comp", "changed", "--from", "HEAD").out) == []
    added = trib_in(trib, distro, "-O", "json", "comp", "changed", "--from", "HEAD~2")
    assert {r["changeType"] for r in json.loads(added.out)} == {"added"}


def test_hand_edited_sources_with_unchanged_fingerprint_is_an_error(distro: Path, trib) -> None:
    trib_in(trib, distro, "comp", "update", "-a")
    assert trib_in(trib, distro, "comp", "render", "-a").code == 0
    commit_all(distro, "locks and specs")
    sources = distro / "specs/l/libgreet/sources"
    sources.write_text(sources.read_text().replace("SHA512", "SHA512 ", 1))
    commit_all(distro, "poisoned")
    result = trib_in(trib, distro, "comp", "changed", "--from", "HEAD~1")
    assert result.code == 1
    assert "component 'libgreet': its rendered sources file changed" in result.err
