"""A temporary failure (the upstream server is down) keeps every good rendered spec, with the failure
reported; a lasting one (the repository is gone) gets azldev's RENDER_FAILED marker and is remembered:
reported again without asking the server until ``--force`` or a change of inputs.

On fc1b5b1: the outage replaces each upstream component's rendered spec with a RENDER_FAILED marker
(the before/after comparison fails), and the remembered failure is fetched again on every render
(the server sees greet-data's repository asked for again).
"""

from __future__ import annotations

import json
import shutil

from support import components, run_trib, tree


def test_an_outage_keeps_every_rendered_spec_and_reports_each_component(served_distro) -> None:
    distro, server = served_distro, served_distro.server
    code, _, err = run_trib(distro.args("comp", "render", "-a"))
    assert code == 0, err
    before = tree(distro.root / "specs")
    port = server.url.rsplit(":", 1)[1]
    # The components that must ask the server: upstream ones, except those pinned to a commit their
    # mirror already holds (greet); local specs need no server.
    listed = components(distro.distro)
    asking = sorted(n for n, row in listed.items() if row["specType"] == "upstream" and not row["pinnedCommit"])
    quiet = sorted(set(listed) - set(asking))
    assert asking and "greet" in quiet
    server.close()  # the server is down: connections are refused

    code, out, err = run_trib(distro.args("-O", "json", "comp", "render", "-a", "--force"))
    assert code == 1
    assert err.splitlines()[0] == (
        f"error: component '{asking[0]}': cannot reach http://127.0.0.1:{port}/git/{asking[0]}.git: "
        "Connection refused (hint: check the network or the URL; TRIB_CONNECT_TIMEOUT sets the connect time-out) "
        "(a temporary failure: the previous output is kept)")
    rows = {row["component"]: row for row in json.loads(out)}
    assert sorted(name for name, row in rows.items() if row["status"] == "error") == asking
    assert all(rows[name]["temporary"] and not rows[name]["changed"] for name in asking)
    assert {rows[name]["status"] for name in quiet} == {"ok"}  # none of them needs the server
    assert tree(distro.root / "specs") == before  # nothing replaced by a marker, nothing lost


def test_a_lasting_failure_gets_the_marker_and_is_not_fetched_again(served_distro) -> None:
    distro, server = served_distro, served_distro.server
    code, _, err = run_trib(distro.args("comp", "render", "-a"))
    assert code == 0, err
    before = tree(distro.root / "specs")
    repository = server.root / "git" / "greet-data.git"
    shutil.move(repository, server.root / "kept-aside.git")

    code, _, err = run_trib(distro.args("comp", "render", "-a", "--force"))
    assert code == 1
    first = (f"error: component 'greet-data': no dist-git repository at {server.url}/git/greet-data.git (hint: check "
             "dist-git-base-uri and spec.upstream-name; a repository served by a plain web server needs 'git "
             "update-server-info' run in it)")
    assert err.splitlines() == [first]
    after = tree(distro.root / "specs")
    assert sorted(after["g/greet-data/RENDER_FAILED"].splitlines()) == [
        b"tributary could not render this component; run 'trib comp render NAME' to see why."]
    assert [name for name in after if name.startswith("g/greet-data/")] == ["g/greet-data/RENDER_FAILED"]
    assert {k: v for k, v in after.items() if not k.startswith("g/greet-data/")} == \
        {k: v for k, v in before.items() if not k.startswith("g/greet-data/")}

    asked = server.count("/git/greet-data.git")
    code, _, err = run_trib(distro.args("comp", "render", "-a"))
    assert code == 1
    assert err.splitlines() == [first + " (remembered from the last run; --force tries again)"]
    assert server.count("/git/greet-data.git") == asked  # not asked again
    assert tree(distro.root / "specs") == after

    shutil.move(server.root / "kept-aside.git", repository)
    code, _, err = run_trib(distro.args("comp", "render", "-a", "--force"))
    assert code == 0, err
    assert tree(distro.root / "specs") == before
