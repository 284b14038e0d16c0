"""`trib upstream check`: the example distro against newer upstream commits a maintainer pushes."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from support import copy_example_distro

from tributary.config import load_project
from tributary.config.model import BuildConfig
from tributary.render.upstream_check import (
    Target,
    check_component,
    map_line,
    nearby_lines,
)

LATER = "2025-06-01T12:00:00+00:00"  # after the distro's snapshot (2025-04-01) and every example commit


@pytest.fixture
def distro(tmp_path: Path, upstream) -> Path:
    """A copy of the example distro whose upstream is this test's private copy of the Example Upstream."""
    return copy_example_distro(tmp_path, upstream.root, git_repository=False, lookaside=True).root


def check(trib, root: Path, *args: str):
    return trib("-C", str(root), "--config-file", str(root.parent / "mirror.toml"), *args)


def check_json(trib, root: Path, *args: str) -> tuple[int, dict[str, dict]]:
    result = check(trib, root, "-O", "json", "upstream", "check", *args)
    assert result.code in (0, 1), result.err
    return result.code, {row["component"]: row for row in json.loads(result.out)}


def overlay_number(root: Path, component: str, **fields: str) -> int:
    """The 1-based number of the component's configured overlay with these field values."""
    project = load_project(root, extra_files=[root.parent / "mirror.toml"])
    overlays = project.resolve(component).config.overlays
    found = [i + 1 for i, o in enumerate(overlays) if all(getattr(o, k, None) == v for k, v in fields.items())]
    assert len(found) == 1, f"{component}: {fields} matches overlays {found}"
    return found[0]


def overlay_count(root: Path, component: str) -> int:
    return len(load_project(root, extra_files=[root.parent / "mirror.toml"]).resolve(component).config.overlays)


def location(root: Path, component: str, number: int) -> str:
    """Where overlay ``number`` is written (file:line), as every tributary message shows it."""
    return str(load_project(root, extra_files=[root.parent / "mirror.toml"]).overlay_location(component, number - 1))


def results(row: dict) -> dict[int, str]:
    return {o["number"]: o["result"] for o in row["overlays"]}


def show(bare: Path, commit: str, path: str) -> str:
    return subprocess.run(["git", "--git-dir", str(bare), "show", f"{commit}:{path}"], capture_output=True, text=True,
                          check=True).stdout


def edit(maintainer, upstream, package: str, change, *, remove: tuple[str, ...] = (), date: str = LATER) -> str:
    """Commit ``change(spec text) -> spec text`` (and file removals) to the package's branch; push."""
    m = maintainer(upstream.git_dir(package))
    spec = m.work / f"{package}.spec"
    new = change(spec.read_text())
    assert new != spec.read_text(), "the test's edit must change the spec"
    for name in remove:
        (m.work / name).unlink()
    commit = m.commit({spec.name: new}, f"test change to {package}", date=date)
    m.push()
    return commit


def test_archive_overlays_are_checked_against_the_target_tarball(distro: Path, trib) -> None:
    """greet-data's archive overlay runs on the target's own tarball: it applies when the tarball can
    be fetched, and fails, saying why, when it cannot (an empty lookaside, nothing cached)."""
    number = overlay_number(distro, "greet-data", archive="greet-data-1.0.tar.gz")
    _, rows = check_json(trib, distro)
    assert results(rows["greet-data"])[number] == "applies"
    # An empty store rather than none: without the mirror's line the example's own lookaside,
    # http://127.0.0.1:8741 (make demo's), applies, and a demo running meanwhile would serve the tarball.
    empty = distro.parent / "empty-lookaside"
    empty.mkdir()
    mirror = distro.parent / "mirror.toml"
    mirror.write_text("".join(f'lookaside-base-uri = "file://{empty}/$pkg/$filename/$hashtype/$hash/$filename"\n'
                              if line.startswith("lookaside-base-uri") else line
                              for line in mirror.read_text().splitlines(keepends=True)))
    shutil.rmtree(load_project(distro, extra_files=[mirror]).work_dir / "cache" / "lookaside")
    code, rows = check_json(trib, distro)
    assert code == 1 and rows["greet-data"]["status"] == "breaks"
    failed = next(o for o in rows["greet-data"]["overlays"] if o["number"] == number)
    assert failed["result"] == "fails" and "the target's tarballs could not be fetched" in failed["message"]
    assert "greet-data.comp.toml:" in failed["location"]


def test_newest_upstream_of_the_example_is_clean(distro: Path, trib, example_upstream) -> None:
    # greet-data's second commit (2025-05-05, after the snapshot) adds a %check section; nothing any
    # of its overlays touches, so every overlay still applies.
    first, second = example_upstream.commits("greet-data")
    diff = subprocess.run(["git", "--git-dir", str(example_upstream.git_dir("greet-data")), "diff", first, second],
                          capture_output=True, text=True, check=True).stdout
    added = [line[1:] for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert "%check" in added and not [line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]

    code, rows = check_json(trib, distro)
    assert code == 0
    data = rows["greet-data"]
    assert (data["currentCommit"], data["targetCommit"], data["targetBranch"]) == (first, second, "f43")
    assert data["status"] == "clean"
    assert results(data) == dict.fromkeys(range(1, overlay_count(distro, "greet-data") + 1), "applies")
    assert rows["tribex-release"]["status"] == "local"
    assert rows["tribex-release"]["overlays"] == []
    # greet is pinned to its newest commit: the target is the pin itself.
    greet = rows["greet"]
    assert greet["status"] == "unchanged"
    assert greet["pinnedCommit"] == greet["currentCommit"] == greet["targetCommit"] == example_upstream.commits("greet")[-1]


def test_overlays_upstream_took_become_redundant(distro: Path, trib, upstream, maintainer) -> None:
    new_greet = edit(maintainer, upstream, "greet", lambda s: s.replace(
        "BuildRequires:  make\n", "BuildRequires:  make\nProvides:       hello = %{version}-%{release}\n", 1))
    edit(maintainer, upstream, "greet-data", lambda s: s.replace(
        "%build\n# Nothing to build: a configuration file and a shell script.\n\n", ""))
    edit(maintainer, upstream, "libgreet", lambda s: s.replace("%doc README.md NEWS\n", "%doc README.md\n").replace(
        "libgreet-2.0-null-name.patch", "libgreet-2.0-null-name.backport.patch"))
    code, rows = check_json(trib, distro)
    assert code == 0  # redundant overlays are worth knowing, not a failure

    greet = rows["greet"]
    add_tag = overlay_number(distro, "greet", type="spec-add-tag", tag="Provides")
    assert greet["status"] == "redundant"
    assert greet["targetCommit"] == new_greet and greet["pinnedCommit"] == greet["currentCommit"] != new_greet
    assert results(greet) == {n: ("redundant" if n == add_tag else "applies") for n in range(1, overlay_count(distro, "greet") + 1)}
    row = next(o for o in greet["overlays"] if o["number"] == add_tag)
    assert row["evidence"] == "greet.spec:11 already reads 'Provides:       hello = %{version}-%{release}'"
    assert row["message"] == f"redundant: drop it: {row['evidence']}"
    assert row["location"] == location(distro, "greet", add_tag)

    remove_build = overlay_number(distro, "greet-data", type="spec-remove-section", section="%build")
    assert rows["greet-data"]["status"] == "redundant"
    assert results(rows["greet-data"])[remove_build] == "redundant"
    assert [n for n, r in results(rows["greet-data"]).items() if r != "applies"] == [remove_build]

    libgreet = rows["libgreet"]
    doc = overlay_number(distro, "libgreet", type="spec-search-replace", section="%files")
    update = overlay_number(distro, "libgreet", type="spec-update-tag", tag="Patch1")
    rename = overlay_number(distro, "libgreet", type="file-rename")
    # The spec now names the .backport.patch, but the file still has the old name: the rename still
    # applies, while the search-replace and the tag update (it would only re-space the tag) are redundant.
    assert {n: r for n, r in results(libgreet).items() if r != "applies"} == {doc: "redundant", update: "redundant"}
    assert results(libgreet)[rename] == "applies"
    messages = {o["number"]: o["message"] for o in libgreet["overlays"]}
    assert messages[doc] == ("redundant: drop it: libgreet.spec:72 already reads '%doc README.md' (the overlay "
                             "fails: regex '^%doc README\\\\.md NEWS$' matched no line in section %files)")


def test_a_file_overlay_becomes_redundant_when_upstream_renamed_the_file(distro: Path, trib, upstream, maintainer) -> None:
    m = maintainer(upstream.git_dir("libgreet"))
    spec = m.work / "libgreet.spec"
    (m.work / "libgreet-2.0-null-name.patch").rename(m.work / "libgreet-2.0-null-name.backport.patch")
    m.commit({"libgreet.spec": spec.read_text().replace("libgreet-2.0-null-name.patch", "libgreet-2.0-null-name.backport.patch")},
             "name the backport as the distribution does", date=LATER)
    m.push()
    code, rows = check_json(trib, distro, "libgreet")
    assert code == 0
    rename = overlay_number(distro, "libgreet", type="file-rename")
    update = overlay_number(distro, "libgreet", type="spec-update-tag", tag="Patch1")
    assert {n: r for n, r in results(rows["libgreet"]).items() if r != "applies"} == {rename: "redundant", update: "redundant"}
    assert rows["libgreet"]["status"] == "redundant"


def test_a_broken_overlay_reports_the_error_and_the_new_lines_nearby(distro: Path, trib, upstream, maintainer) -> None:
    commit = edit(maintainer, upstream, "libgreet", lambda s: s.replace("%doc README.md NEWS\n", "%doc README.md NEWS ChangeLog\n"))
    new_spec = show(upstream.git_dir("libgreet"), commit, "libgreet.spec").splitlines()
    code, rows = check_json(trib, distro, "libgreet")
    assert code == 1
    row = rows["libgreet"]
    doc = overlay_number(distro, "libgreet", type="spec-search-replace", section="%files")
    assert row["status"] == "breaks"
    assert {n: r for n, r in results(row).items() if r != "applies"} == {doc: "fails"}
    failed = next(o for o in row["overlays"] if o["number"] == doc)
    assert failed["message"] == "regex '^%doc README\\\\.md NEWS$' matched no line in section %files"
    assert failed["type"] == "spec-search-replace"
    at = new_spec.index("%doc README.md NEWS ChangeLog")
    assert failed["nearbyFile"] == "libgreet.spec"
    assert failed["nearbyLines"] == [{"line": i + 1, "text": new_spec[i]} for i in range(at - 3, at + 4)]
    assert failed["location"] == location(distro, "libgreet", doc)
    assert "libgreet.comp.toml:" in failed["location"]

    # Table: one row per component, then the overlays that do not simply apply.
    table = check(trib, distro, "upstream", "check", "libgreet")
    assert table.code == 1
    assert "breaks" in table.out and "Overlays that no longer simply apply" in table.out
    assert "1 component(s) break against the target upstream: libgreet" in table.err


def test_checking_goes_on_after_a_failure(distro: Path, trib, upstream, maintainer) -> None:
    # Upstream drops the backported patch (its fix is in a new release): the rename and the tag update
    # that follow it both fail, and the overlays after them are still checked.
    def drop(spec: str) -> str:
        kept = [line for line in spec.splitlines(keepends=True)
                if "libgreet-2.0-null-name.patch" not in line and not line.startswith("%patch -P1")]
        return "".join(kept).replace("%doc README.md NEWS\n", "%doc README.md NEWS ChangeLog\n")

    edit(maintainer, upstream, "libgreet", drop, remove=("libgreet-2.0-null-name.patch",))
    code, rows = check_json(trib, distro, "libgreet")
    assert code == 1
    row = rows["libgreet"]
    doc = overlay_number(distro, "libgreet", type="spec-search-replace", section="%files")
    rename = overlay_number(distro, "libgreet", type="file-rename")
    update = overlay_number(distro, "libgreet", type="spec-update-tag", tag="Patch1")
    total = overlay_count(distro, "libgreet")
    assert results(row) == {n: ("fails" if n in (doc, rename, update) else "applies") for n in range(1, total + 1)}
    assert doc < min(rename, update)  # overlays after the first failure were still checked
    messages = {o["number"]: o["message"] for o in row["overlays"]}
    assert messages[rename] == "no file matches 'libgreet-2.0-null-name.patch'"
    assert messages[update].startswith("no tag 'Patch1'")
    nearby = {line["text"] for line in next(o for o in row["overlays"] if o["number"] == update)["nearbyLines"]}
    assert any(text.startswith("Patch0:") for text in nearby)


def test_markdown_and_json_shapes(distro: Path, trib, upstream, maintainer) -> None:
    edit(maintainer, upstream, "libgreet", lambda s: s.replace("%doc README.md NEWS\n", "%doc README.md NEWS ChangeLog\n"))
    code, rows = check_json(trib, distro)
    assert code == 1
    assert set(rows) == set(load_project(distro, extra_files=[distro.parent / "mirror.toml"]).component_names)
    for row in rows.values():
        assert set(row) == {"component", "status", "currentCommit", "targetCommit", "targetBranch", "pinnedCommit",
                            "error", "overlays"}
        for overlay in row["overlays"]:
            assert set(overlay) == {"number", "type", "description", "result", "message", "evidence", "location",
                                    "nearbyFile", "nearbyLines"}

    markdown = check(trib, distro, "-O", "markdown", "upstream", "check")
    assert markdown.code == 1
    text = markdown.out
    assert text.startswith("# Upstream check: the configured version, branch head\n")
    assert "| libgreet | breaks |" in text
    assert "| greet-data | clean |" in text
    sections = [line for line in text.splitlines() if line.startswith("## ")]
    assert sections == ["## libgreet: breaks"]  # only affected components get a section
    doc = overlay_number(distro, "libgreet", type="spec-search-replace", section="%files")
    assert f"### overlay #{doc} (spec-search-replace): fails" in text
    block = text.split("New upstream lines near where it used to apply (`libgreet.spec`):\n\n", 1)[1]
    fenced = block.split("```\n")[1]
    assert "%doc README.md NEWS ChangeLog" in fenced and "%license LICENSE" in fenced


def test_exit_status_is_zero_without_a_break(distro: Path, trib, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # one table row per line
    result = check(trib, distro, "upstream", "check")
    assert result.code == 0, result.err
    assert [line.split("│")[2].strip() for line in result.out.splitlines() if "│ greet-data " in line] == ["clean"]
    assert "Overlays that no longer simply apply" not in result.out


def test_snapshot_selects_the_commit_it_would_lock(distro: Path, trib, upstream, maintainer, example_upstream) -> None:
    newest = edit(maintainer, upstream, "libgreet", lambda s: s.replace("%doc README.md NEWS\n", "%doc README.md NEWS ChangeLog\n"),
                  date="2025-07-01T00:00:00+00:00")
    libgreet_before = example_upstream.commits("libgreet")[-1]

    code, rows = check_json(trib, distro, "--snapshot", "2025-06-01T00:00:00Z")
    assert code == 0  # the breaking libgreet commit is after this snapshot
    assert rows["libgreet"]["targetCommit"] == libgreet_before and rows["libgreet"]["status"] == "unchanged"
    assert rows["greet-data"]["targetCommit"] == example_upstream.commits("greet-data")[1]

    code, rows = check_json(trib, distro, "--snapshot", "2025-04-01T00:00:00+00:00")
    assert code == 0
    assert rows["greet-data"]["status"] == "unchanged"
    # greet is pinned past that snapshot: the check says what following the snapshot would mean.
    greet = rows["greet"]
    assert greet["targetCommit"] == example_upstream.commits("greet")[2]
    assert greet["currentCommit"] == greet["pinnedCommit"] == example_upstream.commits("greet")[3]
    assert greet["status"] == "clean" and len(greet["overlays"]) == overlay_count(distro, "greet")

    code, rows = check_json(trib, distro)
    assert code == 1 and rows["libgreet"]["targetCommit"] == newest

    bad = check(trib, distro, "upstream", "check", "--snapshot", "June 2025")
    assert bad.code == 2 and "RFC 3339" in bad.err
    early = check(trib, distro, "-O", "json", "upstream", "check", "greet-data", "--snapshot", "2024-01-01T00:00:00Z")
    assert early.code == 1
    row = json.loads(early.out)[0]
    assert row["status"] == "error" and "is at or before the snapshot" in row["error"]


def test_version_checks_another_branch(distro: Path, trib, upstream, maintainer) -> None:
    m = maintainer(upstream.git_dir("libgreet"))
    spec = m.work / "libgreet.spec"
    newer = m.commit({"libgreet.spec": spec.read_text().replace("%doc README.md NEWS\n", "%doc README.md\n")},
                     "f44: drop NEWS from the docs", date=LATER)
    m.branch = "f44"  # push to a new branch: the upstream's next version
    m.push()
    mirror = distro.parent / "mirror.toml"
    mirror.write_text(mirror.read_text() + '[distros.example-upstream.versions.44]\nrelease-ver = "44"\ndist-git-branch = "f44"\n')

    code, rows = check_json(trib, distro, "libgreet", "--version", "44")
    assert code == 0
    row = rows["libgreet"]
    assert (row["targetBranch"], row["targetCommit"], row["status"]) == ("f44", newer, "redundant")
    doc = overlay_number(distro, "libgreet", type="spec-search-replace", section="%files")
    assert {n: r for n, r in results(row).items() if r != "applies"} == {doc: "redundant"}

    # The f43 branch is untouched: without --version, libgreet stays where it is.
    assert check_json(trib, distro, "libgreet")[1]["libgreet"]["status"] == "unchanged"
    # A package the new version does not have cannot be checked, and that fails the gate.
    code, rows = check_json(trib, distro, "greet", "--version", "44")
    assert code == 1
    assert rows["greet"]["status"] == "error" and "branch 'f44' does not exist" in rows["greet"]["error"]
    unknown = check(trib, distro, "upstream", "check", "--version", "45")
    assert unknown.code == 2 and "has no version '45'" in unknown.err


def test_nothing_is_written_to_rendered_specs_or_locks(distro: Path, trib, upstream, maintainer) -> None:
    assert check(trib, distro, "comp", "update", "-a").code == 0
    locks = {p.name: p.read_bytes() for p in (distro / "locks").iterdir()}
    assert "libgreet.lock" in locks
    locked = next(line for line in locks["libgreet.lock"].decode().splitlines() if line.startswith("upstream-commit"))
    edit(maintainer, upstream, "libgreet", lambda s: s.replace("%doc README.md NEWS\n", "%doc README.md NEWS ChangeLog\n"))
    code, rows = check_json(trib, distro)
    assert code == 1
    assert f'"{rows["libgreet"]["currentCommit"]}"' in locked  # the current commit is the locked one
    assert {p.name: p.read_bytes() for p in (distro / "locks").iterdir()} == locks
    assert not (distro / "specs").exists()
    work = distro / "build" / "work"
    assert not [p for p in work.iterdir() if p.name.startswith("upstream-check-")]


def test_a_line_is_found_again_after_upstream_moves_it() -> None:
    old = ["a", "b", "c", "d", "e"]
    assert map_line(old, ["x", "y", "a", "b", "c", "d", "e"], 2) == 4  # lines inserted above
    assert map_line(old, ["a", "b", "C!", "d", "e"], 2) == 2  # the line itself edited
    assert map_line(old, ["a", "b", "d", "e"], 2) == 2  # the line deleted: where it was
    assert map_line(old, ["q"], 3) == 0
    assert [n.line for n in nearby_lines(old, [str(i) for i in range(20)] + old, 0)] == [18, 19, 20, 21, 22, 23, 24]
    assert nearby_lines(old, [], 1) == ()


def test_tributarys_own_overlays_are_reported_when_they_break(distro: Path, tmp_path: Path) -> None:
    # build.check.skip writes "exit 0" at the top of %check; the upstream before greet gained its
    # %check (2025-04-14) has none, so that overlay of tributary's own breaks there.
    project = load_project(distro, extra_files=[distro.parent / "mirror.toml"])
    greet = project.resolve("greet")
    build = BuildConfig.model_validate({"check": {"skip": True, "skip_reason": "needs a terminal"}})
    skipping = dataclasses.replace(greet, config=greet.config.model_copy(update={"build": build}))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = check_component(project, skipping, Target(snapshot="2025-04-01T00:00:00Z"), scratch)
    assert result.status == "breaks"
    failed = [o for o in result.overlays if o.result == "fails"]
    assert [(o.number, o.type, o.description, o.location) for o in failed] == [
        (None, "spec-prepend-lines", "tributary: build.check.skip (needs a terminal)", None)]
    assert failed[0].message == "no %check section for the main package"
    # Where %check used to be: between %install and %files.
    assert [line.text for line in failed[0].nearby_lines][2:5] == ["", "%files", "%license LICENSE"]
    assert failed[0].nearby_lines[0].text == "%install"
    assert list(scratch.iterdir()) == []  # the scratch trees are removed


# --- redundant patch-add overlays (issue 18) ---------------------------------------------------------------

OUR_PATCH = Path(__file__).resolve().parents[2] / "examples/distro/base/comps/greet/greet-1.1-tribex-default-name.patch"


def test_a_patch_add_whose_patch_upstream_declares_is_redundant(distro: Path, trib, upstream, maintainer) -> None:
    """Upstream takes the distribution's patch under its own name (and header): the patch-add would add a
    second copy that cannot apply. fc1b5b1 reported it as 'applies'."""
    m = maintainer(upstream.git_dir("greet"))
    changes = OUR_PATCH.read_text().split("\n--- a/Makefile", 1)[1]
    (m.work / "greet-default-name.patch").write_text("Subject: make the default name configurable\n\n--- a/Makefile"
                                                     + changes)
    spec = (m.work / "greet.spec").read_text().replace(
        "Source0:        %{url}/releases/%{name}-%{version}.tar.gz\n",
        "Source0:        %{url}/releases/%{name}-%{version}.tar.gz\nPatch0:         greet-default-name.patch\n")
    m.commit({"greet.spec": spec}, "take the distribution's default name", date=LATER)
    m.push()
    code, rows = check_json(trib, distro, "greet")
    assert code == 0
    number = overlay_number(distro, "greet", type="patch-add")
    row = next(o for o in rows["greet"]["overlays"] if o["number"] == number)
    assert row["result"] == "redundant" and rows["greet"]["status"] == "redundant"
    assert row["evidence"] == ("upstream's greet-default-name.patch (greet.spec:8: 'Patch0:         "
                               "greet-default-name.patch') makes the same changes")
    assert row["location"] == location(distro, "greet", number)
    strict = check(trib, distro, "upstream", "check", "greet", "--fail-on-redundant")
    assert strict.code == 1 and f"1 overlay(s) are redundant (upstream took the change; drop them): greet #{number}" \
        in strict.err


def test_a_patch_add_whose_changes_are_in_the_new_tarball_is_redundant(distro: Path, trib, upstream, maintainer,
                                                                         tmp_path: Path) -> None:
    """Upstream releases greet 1.2 with the change in its sources: the patch applies in reverse there."""
    import hashlib
    import tarfile

    old = next(p for p in (upstream.root / "lookaside" / "greet").rglob("greet-1.1.tar.gz") if p.is_file())
    work = tmp_path / "tarball"
    work.mkdir()
    subprocess.run(["tar", "-xzf", str(old), "-C", str(work)], check=True)
    (work / "greet-1.1").rename(work / "greet-1.2")
    subprocess.run(["patch", "-p1", "-s", "-i", str(OUR_PATCH)], cwd=work / "greet-1.2", check=True)
    new = tmp_path / "greet-1.2.tar.gz"
    with tarfile.open(new, "w:gz") as tar:
        tar.add(work / "greet-1.2", arcname="greet-1.2")
    digest = hashlib.sha512(new.read_bytes()).hexdigest()
    store = upstream.root / "lookaside" / "greet" / "greet-1.2.tar.gz" / "sha512" / digest
    store.mkdir(parents=True)
    shutil.copy(new, store / "greet-1.2.tar.gz")
    m = maintainer(upstream.git_dir("greet"))
    spec = (m.work / "greet.spec").read_text().replace("Version:        1.1", "Version:        1.2")
    m.commit({"greet.spec": spec, "sources": f"SHA512 (greet-1.2.tar.gz) = {digest}\n"}, "greet 1.2", date=LATER)
    m.push()
    code, rows = check_json(trib, distro, "greet")
    assert code == 0
    number = overlay_number(distro, "greet", type="patch-add")
    row = next(o for o in rows["greet"]["overlays"] if o["number"] == number)
    assert row["result"] == "redundant"
    assert row["evidence"] == "its changes are already in upstream's greet-1.2.tar.gz (the patch applies in reverse " \
                              "with -p1)"
    assert {o["number"] for o in rows["greet"]["overlays"] if o["result"] != "applies"} == {number}
