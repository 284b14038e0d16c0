"""``trib comp why NAME --from REF`` (issue 18): what changed in a component's fingerprint inputs or
rendered output between two commits, each change with the place (``REF:file:line``) that made it.
fc1b5b1 has no such command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support import copy_example_distro, run_git


@pytest.fixture
def distro(tmp_path: Path, example_upstream, trib):
    copy = copy_example_distro(tmp_path, example_upstream.root)

    def cli(*args: str):
        return trib(*copy.args(*args))

    assert cli("comp", "update", "-a").code == 0
    assert cli("comp", "render", "-a").code == 0
    copy.commit_all("Lock and render", date="2026-01-02T09:00:00+00:00")
    return copy, cli


def why(cli, *args: str) -> list[dict]:
    result = cli("-O", "json", "comp", "why", *args)
    assert result.code == 0, result.err
    return json.loads(result.out)


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_an_overlay_change_names_its_toml_line_and_each_rendered_block(distro) -> None:
    copy, cli = distro
    comp = copy.root / "base/comps/greet/greet.comp.toml"
    comp.write_text(comp.read_text().replace('value = "hello = %{version}-%{release}"',
                                             'value = "hello-compat = %{version}-%{release}"'))
    assert cli("comp", "update", "greet").code == 0
    assert cli("comp", "render", "greet").code == 0
    copy.commit_all("Rename the compatibility provide", date="2026-01-03T09:00:00+00:00")
    rows = why(cli, "greet", "--from", "HEAD~1")
    config = [r for r in rows if r["aspect"] == "config"]
    assert [(r["what"], r["before"], r["after"]) for r in config] == [
        ("overlays[1].value", json.dumps("hello = %{version}-%{release}"),
         json.dumps("hello-compat = %{version}-%{release}"))]
    assert re.fullmatch(rf"HEAD:base/comps/greet/greet\.comp\.toml:{line_of(comp, 'hello-compat')}\b.*",
                        config[0]["where"]), config[0]["where"]
    spec = copy.root / "specs/g/greet/greet.spec"
    provide = [r for r in rows if r["aspect"] == "rendered" and r["after"] and "hello-compat" in r["after"]]
    assert provide and provide[0]["where"] == f"HEAD:specs/g/greet/greet.spec:{line_of(spec, 'hello-compat')}"
    assert "Provides: hello = " in provide[0]["before"]
    assert {r["aspect"] for r in rows} <= {"config", "rendered"}


def test_a_local_spec_edit_names_the_file_and_its_first_changed_line(distro) -> None:
    copy, cli = distro
    spec = copy.root / "base/comps/tribex-release/tribex-release.spec"
    text = spec.read_text()
    spec.write_text(text.replace("Summary:", "Summary: Tributary's", 1))
    assert cli("comp", "update", "tribex-release").code == 0
    copy.commit_all("Reword the summary", date="2026-01-03T09:00:00+00:00")
    rows = why(cli, "tribex-release", "--from", "HEAD~1")
    assert rows == [{"aspect": "local-spec", "what": "base/comps/tribex-release/tribex-release.spec",
                     "before": rows[0]["before"], "after": rows[0]["after"],
                     "where": f"HEAD:base/comps/tribex-release/tribex-release.spec:{line_of(spec, 'Summary:')}"}]
    assert rows[0]["before"] != rows[0]["after"]


def test_a_stale_lock_is_named_as_the_fingerprint_tributary_does_not_reach(distro) -> None:
    copy, cli = distro
    spec = copy.root / "base/comps/tribex-release/tribex-release.spec"
    spec.write_text(spec.read_text() + "# edited without comp update\n")
    copy.commit_all("Edit without updating the lock", date="2026-01-03T09:00:00+00:00")
    rows = why(cli, "tribex-release", "--from", "HEAD~1")
    assert [r["aspect"] for r in rows] == ["local-spec", "tributary"]
    lock = copy.root / "locks/tribex-release.lock"
    assert rows[1]["where"] == f"HEAD:locks/tribex-release.lock:{line_of(lock, 'input-fingerprint')}"


def test_a_build_option_names_its_line(distro) -> None:
    copy, cli = distro
    comp = copy.root / "base/comps/greet/greet.comp.toml"
    comp.write_text(comp.read_text() + '\n[components.greet.build]\nwith = ["tests"]\n')
    assert cli("comp", "update", "greet").code == 0
    copy.commit_all("Build greet with tests", date="2026-01-03T09:00:00+00:00")
    rows = why(cli, "greet", "--from", "HEAD~1", "--to", "HEAD")
    assert [(r["aspect"], r["what"], r["before"], r["after"]) for r in rows] == [
        ("config", "build.with", None, '["tests"]')]
    assert rows[0]["where"].startswith(f"HEAD:base/comps/greet/greet.comp.toml:{line_of(comp, 'with = ')}")


def test_nothing_changed_and_bad_refs(distro) -> None:
    _, cli = distro
    assert why(cli, "greet", "--from", "HEAD") == []
    bad = cli("comp", "why", "greet", "--from", "no-such-ref")
    assert bad.code == 2 and "'no-such-ref' names no commit" in bad.err
    missing = cli("comp", "why", "nosuch", "--from", "HEAD")
    assert missing.code == 2 and "no component 'nosuch' at HEAD or at HEAD" in missing.err


def test_a_removed_component_is_named_with_where_it_was(distro) -> None:
    copy, cli = distro
    run_git("rm", "-rq", "base/comps/libgreet", "locks/libgreet.lock", cwd=copy.root)
    copy.commit_all("Drop libgreet", date="2026-01-03T09:00:00+00:00")
    rows = why(cli, "libgreet", "--from", "HEAD~1")
    assert [(r["aspect"], r["what"], r["before"], r["after"]) for r in rows] == [
        ("component", "removed", "libgreet", None)]
    assert rows[0]["where"].startswith("HEAD~1:base/comps/libgreet/libgreet.comp.toml:")
