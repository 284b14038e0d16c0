"""Release numbers and changelogs from upstream history plus the project's lock history (reference 3.2)."""

from __future__ import annotations

import re
from pathlib import Path

from support import run_git


def rendered(root: Path, name: str) -> str:
    return (root / "specs" / name[0] / name / f"{name}.spec").read_text()


def release_number(spec: str) -> int:
    return int(re.search(r"release_number = (\d+);", spec).group(1))


def changelog(spec: str) -> list[str]:
    return re.findall(r"^\* .* - (\S+)$", spec, re.MULTILINE)


def test_without_lock_history_the_release_is_upstreams(distro) -> None:
    root, cli = distro
    assert cli("comp", "render", "greet").code == 0
    spec = rendered(root, "greet")
    assert release_number(spec) == 2  # upstream's own: 1.1-2, nothing downstream committed yet
    assert changelog(spec) == ["1.1-2", "1.1-1", "1.0-2", "1.0-1"]
    assert "## START: Set by rpmautospec" in spec and "%autochangelog" not in spec


def test_each_committed_fingerprint_change_bumps_once(distro) -> None:
    root, cli = distro
    cli("comp", "update", "-a")
    run_git("add", "-A", cwd=root)
    run_git("commit", "-qm", "Lock the components", cwd=root, date="2026-01-02T09:00:00+00:00", author="Ana")
    comp = root / "base/comps/greet/greet.comp.toml"
    comp.write_text(comp.read_text().replace('value = "Tributary Example Linux"', 'value = "Tributary"'))
    cli("comp", "update", "greet")
    run_git("add", "-A", cwd=root)
    run_git("commit", "-qm", "Shorter vendor for greet", cwd=root, date="2026-01-03T09:00:00+00:00", author="Bo")
    # A commit that touches the lock without changing the fingerprint adds nothing.
    (root / "README.local").write_text("x\n")
    run_git("add", "-A", cwd=root)
    run_git("commit", "-qm", "Unrelated", cwd=root, date="2026-01-04T09:00:00+00:00")
    assert cli("comp", "render", "greet").code == 0
    spec = rendered(root, "greet")
    assert release_number(spec) == 4
    assert changelog(spec)[:3] == ["1.1-4", "1.1-3", "1.1-2"]
    assert "* Sat Jan 03 2026 Bo <bo@tribex.invalid> - 1.1-4\n- Shorter vendor for greet" in spec
    assert "* Fri Jan 02 2026 Ana <ana@tribex.invalid> - 1.1-3\n- Lock the components" in spec

    # Rendering twice gives the same bytes; an uncommitted input change adds one more release.
    assert cli("comp", "render", "greet", "--force").code == 0
    assert rendered(root, "greet") == spec
    comp.write_text(comp.read_text().replace('value = "Tributary"', 'value = "Tributary Linux"'))
    assert cli("comp", "render", "greet").code == 0
    dirty = rendered(root, "greet")
    assert release_number(dirty) == 5
    assert "tributary <tributary@local> - 1.1-5\n- Local changes (uncommitted)" in dirty


def test_static_release_is_bumped_by_the_synthetic_commits(distro) -> None:
    root, cli = distro
    cli("comp", "update", "libgreet")
    run_git("add", "-A", cwd=root)
    run_git("commit", "-qm", "Lock libgreet", cwd=root)
    assert cli("comp", "render", "libgreet").code == 0
    spec = rendered(root, "libgreet")
    assert re.search(r"^Release: 4%\{\?dist\}$", spec, re.MULTILINE)  # upstream's 3, plus one change
    assert "rpmautospec" not in spec  # a hand-written changelog is left as it is


def test_manual_release_is_left_alone(distro) -> None:
    root, cli = distro
    cli("comp", "update", "-a")
    run_git("add", "-A", cwd=root)
    run_git("commit", "-qm", "Lock", cwd=root)
    assert cli("comp", "render", "tribex-release").code == 0
    assert re.search(r"^Release:        2%\{\?dist\}$", rendered(root, "tribex-release"), re.MULTILINE)


def test_unbumpable_release_with_auto_is_a_clear_error(distro) -> None:
    root, cli = distro
    comp = root / "base/comps/libgreet/libgreet.comp.toml"
    comp.write_text(comp.read_text() + '\n[[components.libgreet.overlays]]\ntype = "spec-update-tag"\ntag = "Release"\n'
                    'value = "%{pkg_release}%{?dist}"\ndescription = "x"\n')
    cli("comp", "update", "libgreet")
    run_git("add", "-A", cwd=root)
    run_git("commit", "-qm", "Lock", cwd=root)
    result = cli("comp", "render", "libgreet")
    assert result.code == 1
    # The line came from an overlay, so it is named in the spec after overlays.
    assert "libgreet.spec (after overlays):" in result.err
    assert "cannot bump Release '%{pkg_release}%{?dist}' by 1" in result.err
    assert "%{pkg_release}, which the spec does not define" in result.err
    assert "release.calculation = 'manual'" in result.err


def test_a_shallow_project_clone_is_refused(distro, tmp_path: Path, trib) -> None:
    root, cli = distro
    cli("comp", "update", "-a")
    run_git("add", "-A", cwd=root)
    run_git("commit", "-qm", "Lock", cwd=root)
    run_git("commit", "-q", "--allow-empty", "-m", "later", cwd=root)
    shallow = tmp_path / "shallow"
    run_git("clone", "-q", "--depth", "1", f"file://{root}", str(shallow), cwd=tmp_path)
    result = trib("-C", str(shallow), "--config-file", str(tmp_path / "mirror.toml"), "comp", "render", "greet")
    assert result.code == 1 and "this clone is shallow" in result.err, result.err
