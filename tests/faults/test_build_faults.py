"""``trib build`` under faults: no signing key after a signed release, a kill mid-build or while a
buildroot is made, a damaged build-cache stamp or rendered spec, a buildroot repository that is gone, a
BuildRequires cycle.

Each case asserts the exit status, the first line of the message, and what was kept (files compared
before and after). On fc1b5b1:

* a no-op build without a key rewrote every component's signed provenance unsigned (exit 0; ``trib
  verify`` then "the provenance is not signed"); a changed build without a key did the same;
* the kills: the sandbox died with the command (``bwrap --die-with-parent``), but a SIGTERM or SIGKILL
  left the build's scratch directory in ``<work-dir>/builds/`` for ever (the next build did not remove
  it); a program started outside the sandbox (dnf making a root) ran on after a SIGKILL;
* a cycle between two components: exit 2, "error: build dependency cycle: chicken -> egg -> chicken", and
  nothing built, not even the components outside it;
* the damaged stamp, the damaged rendered spec and the vanished repository: passes (kept as regressions).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import pytest
from support import (
    ExampleDistro,
    first_line,
    marked_processes,
    run_trib,
    stop_child,
    tree,
    trib_child,
    wait_for,
    wait_until_gone,
)

from tributary.repo.sign import SigningKey

KEYLESS = {"TRIB_GPG_KEY": ""}
"""The environment of a build run without a signing key (``TRIB_GPG_KEY`` empty means none)."""


def _sign_provenance(distro: ExampleDistro, key: SigningKey) -> None:
    code, _, err = run_trib(distro.args("-q", "sbom", "-a", "--sign-key", key.fingerprint, "--gnupghome",
                                        str(key.gnupghome)))
    assert code == 0, err


def _verify(distro: ExampleDistro, name: str, key: SigningKey, public: Path) -> tuple[int, str, str]:
    public.write_bytes(key.public_key())
    return run_trib(distro.args("verify", str(distro.root / "out" / "sbom" / f"{name}.provenance.json"),
                                "--key", str(public)))


def test_a_no_op_build_without_a_key_keeps_every_signed_provenance(built_distro: ExampleDistro,
                                                                  signing_key: SigningKey, tmp_path: Path) -> None:
    _sign_provenance(built_distro, signing_key)
    sbom = built_distro.root / "out" / "sbom"
    before = tree(sbom)
    code, out, err = run_trib(built_distro.args("-O", "json", "build", "-a", "-j", "2"), env=KEYLESS)
    assert code == 0, err
    rows = json.loads(out)
    assert {row["state"] for row in rows} == {"cached"}
    assert first_line(err) == (f"note: the signed provenance of {len(rows)} component(s) is kept: their packages "
                                "are unchanged and no signing key was given")
    assert tree(sbom) == before
    code, _, err = _verify(built_distro, "greet", signing_key, tmp_path / "key.asc")
    assert code == 0, err


def test_a_changed_build_without_a_key_refuses_to_replace_the_signed_documents(
        built_distro: ExampleDistro, signing_key: SigningKey, tmp_path: Path) -> None:
    _sign_provenance(built_distro, signing_key)
    sbom = built_distro.root / "out" / "sbom"
    before = tree(sbom)
    config = built_distro.root / "base" / "comps" / "greet" / "greet.comp.toml"
    config.write_text(config.read_text().replace('value = "Tributary Example Linux"',
                                                 'value = "Tributary Example Linux (rebuilt)"'))
    code, out, err = run_trib(built_distro.args("-O", "json", "build", "greet"), env=KEYLESS)
    assert code == 2
    rebuilt = {row["component"] for row in json.loads(out) if row["state"] == "done"}
    assert "greet" in rebuilt
    envelope = sbom / "greet.provenance.json"
    assert first_line(err) == (
        f"warning: greet: sbom: {envelope}: the provenance is signed (key {signing_key.fingerprint}) and this build "
        "changed the packages it describes; without a signing key it would be replaced by an unsigned one, so no "
        "SBOM or provenance of the component was written (hint: set TRIB_GPG_KEY (and TRIB_GNUPGHOME) and run "
        "'trib sbom' for it, or delete the file to accept unsigned provenance)")
    assert err.splitlines()[-1].startswith(f"error: SBOM or provenance not written for {len(rebuilt)} component(s): ")
    assert tree(sbom) == before  # greet's three documents still describe the signed build, the others kept
    # The packages changed, so the kept provenance no longer matches them: verify says so, it is not unsigned.
    code, _, err = _verify(built_distro, "greet", signing_key, tmp_path / "key.asc")
    assert code == 1 and "does not match" in err
    _sign_provenance(built_distro, signing_key)
    code, _, err = _verify(built_distro, "greet", signing_key, tmp_path / "key.asc")
    assert code == 0, err


def _leftovers(distro: ExampleDistro) -> list[str]:
    """Scratch directories builds left in the work directory."""
    builds = distro.root / "build" / "work" / "builds"
    return sorted(path.name for path in builds.iterdir()) if builds.is_dir() else []


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_killed_build_leaves_no_process_and_no_scratch_and_the_next_build_completes(
        built_distro: ExampleDistro, stop: signal.Signals) -> None:
    outputs = built_distro.root / "out"
    before = tree(outputs)
    child = trib_child(built_distro.args("build", "greet", "--force", "-j", "1"), env=KEYLESS)
    wait_for(lambda: "bwrap" in marked_processes(child.marker).values(), 300, "a build sandbox to start")
    stop_child(child, stop)
    if stop == signal.SIGTERM:
        assert _leftovers(built_distro) == []
    assert tree(outputs) == before  # nothing half-written: outputs are renamed into place whole, at the end
    code, _, err = run_trib(built_distro.args("build", "greet", "--force", "-j", "1"), env=KEYLESS, timeout=600)
    assert code == 0, err
    assert _leftovers(built_distro) == []  # a killed build's scratch goes with the next build of it
    after = tree(outputs)
    assert {path: data for path, data in after.items() if not path.startswith("sbom/")} == \
        {path: data for path, data in before.items() if not path.startswith("sbom/")}  # reproducible


def test_a_build_killed_while_its_root_is_made_leaves_no_half_made_root(
        built_distro: ExampleDistro, trib_cache: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"  # the session's stage-0 repository, but no roots: the build must make one
    shutil.copytree(trib_cache / "stage0", cache / "stage0", symlinks=True)
    env = {**KEYLESS, "TRIB_CACHE_DIR": str(cache)}
    child = trib_child(built_distro.args("build", "greet", "--force", "-j", "1"), env=env)
    wait_for(lambda: "dnf" in marked_processes(child.marker).values(), 300, "dnf to start making a root")
    child.process.send_signal(signal.SIGKILL)
    left = wait_until_gone(child.marker, 30)
    code, _, _ = child.wait(60)
    assert code == -signal.SIGKILL
    assert left == {}, f"left running after SIGKILL: {left}"
    roots = cache / "roots"
    made = {path.name for path in roots.iterdir() if not path.name.startswith(".") and path.is_dir()}
    assert made == set(), "a root was renamed into place although its making was killed"
    assert [path.name for path in roots.iterdir() if path.name.endswith(".new")]  # the half-made one, hidden
    code, _, err = run_trib(built_distro.args("build", "greet", "--force", "-j", "1"), env=env, timeout=900)
    assert code == 0, err
    assert not [path.name for path in roots.iterdir() if path.name.endswith(".new")]
    assert all((roots / f"{name}.json").is_file() for name in
               (path.name for path in roots.iterdir() if path.is_dir() and not path.name.startswith(".")))


def test_a_damaged_build_cache_stamp_means_a_rebuild_not_a_crash(built_distro: ExampleDistro) -> None:
    stamp = built_distro.root / "build" / "work" / "build-cache" / "greet.json"
    stamp.write_bytes(os.urandom(64))
    outputs = tree(built_distro.root / "out" / "rpms")
    code, out, err = run_trib(built_distro.args("-O", "json", "build", "greet"), env=KEYLESS)
    assert code == 0, err
    assert {row["component"]: row["state"] for row in json.loads(out)}["greet"] == "done"
    assert json.loads(stamp.read_text())  # written again, whole
    assert tree(built_distro.root / "out" / "rpms") == outputs  # the same build, byte for byte


def test_a_damaged_rendered_spec_is_rendered_again_before_the_build(built_distro: ExampleDistro) -> None:
    spec = built_distro.root / "specs" / "g" / "greet" / "greet.spec"
    good = spec.read_bytes()
    spec.write_bytes(os.urandom(300))
    outputs = tree(built_distro.root / "out" / "rpms")
    code, out, err = run_trib(built_distro.args("-O", "json", "build", "greet"), env=KEYLESS)
    assert code == 0, err
    assert spec.read_bytes() == good
    assert {row["component"]: row["state"] for row in json.loads(out)}["greet"] == "cached"
    assert tree(built_distro.root / "out" / "rpms") == outputs


def test_a_buildroot_repository_that_is_gone_is_named_and_nothing_is_built(built_distro: ExampleDistro) -> None:
    stage1 = built_distro.root / "out" / "stage1"
    shutil.rmtree(stage1 / "rpms")
    outputs = tree(built_distro.root / "out")
    code, _, err = run_trib(built_distro.args("build", "greet", "--force"), env=KEYLESS)
    assert code == 2
    assert first_line(err) == (
        f"error: {built_distro.root / 'mock' / 'tribex-1.0.tpl'}:33: repository 'tribex-stage1': {(stage1 / 'rpms').as_uri()} is not a "
        "directory (hint: build or make it first (a stage-0 repository: trib buildroot stage0))")
    assert tree(built_distro.root / "out") == outputs


def _local_component(distro: ExampleDistro, name: str, needs: str) -> None:
    directory = distro.root / "base" / "comps" / name
    directory.mkdir()
    (directory / f"{name}.comp.toml").write_text(
        f'[components.{name}]\nspec = {{ type = "local", path = "{name}.spec", reason = "a fault test" }}\n')
    (directory / f"{name}.spec").write_text(
        f"Name: {name}\nVersion: 1\nRelease: 1%{{?dist}}\nSummary: s\nLicense: MIT\nBuildRequires: {needs}\n"
        "BuildArch: noarch\n\n%description\nd\n\n%files\n\n%changelog\n* Mon Jan 05 2026 A <a@b.c> - 1-1\n- x\n")


def test_a_build_requires_cycle_blocks_only_its_members_and_what_needs_them(built_distro: ExampleDistro) -> None:
    for name, needs in (("egg", "chicken"), ("chicken", "egg"), ("omelette", "egg")):
        _local_component(built_distro, name, needs)
    outputs = built_distro.root / "out"
    packages = {path: data for path, data in tree(outputs).items() if path.startswith(("rpms/", "srpms/"))}
    code, out, err = run_trib(built_distro.args("-q", "-O", "json", "build", "-a", "-j", "2"), env=KEYLESS,
                              timeout=600)
    assert code == 1
    states = {row["component"]: row["state"] for row in json.loads(out)}
    assert states.pop("egg") == states.pop("chicken") == "failed"
    assert states.pop("omelette") == "skipped"
    assert set(states.values()) == {"cached"}  # everything else is built (here: current) as before
    lines = err.splitlines()
    assert first_line(err) == ("error: build dependency cycle: chicken -> egg -> chicken (hint: break it with a "
                               "bootstrap build option (build.with))")
    assert lines[:2] == [first_line(err)] * 2 and lines[-1].startswith("error: 2 build(s) failed")  # one a member
    assert {path: data for path, data in tree(outputs).items() if path.startswith(("rpms/", "srpms/"))} == packages
