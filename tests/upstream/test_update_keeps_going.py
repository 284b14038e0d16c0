"""``comp update`` past failures: every component that can be resolved is locked, each lock written the
moment it is resolved; failures are listed at the end with their reasons and set the exit status; a
lasting failure is remembered (not asked again until --force), a temporary one is tried again.

On fc1b5b1: the first failure aborts the run with exit 2 and zero locks written, and every run asks
upstream again.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket

from support import Hold, ServedDistro, components, run_trib, tree, trib_child, wait_for, wait_until_gone

from tributary.upstream.lock import read_lock


def _closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused (the server is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _down_distro(served: ServedDistro, component: str, port: int) -> None:
    """Move ``component``'s upstream to a distro whose dist-git server is down."""
    with served.distro.mirror.open("a") as handle:
        handle.write(f'\n[distros.down]\ndescription = "a server that is down"\ndefault-version = "43"\n'
                     f'dist-git-base-uri = "http://127.0.0.1:{port}/git/$pkg.git"\n'
                     '[distros.down.versions.43]\nrelease-ver = "43"\ndist-git-branch = "f43"\n')
    toml = served.root / f"base/comps/{component}/{component}.comp.toml"
    toml.write_text(toml.read_text().replace(
        f"[components.{component}]\n",
        f'[components.{component}]\nspec = {{ type = "upstream", upstream-distro = {{ name = "down", version = "43" }} }}\n', 1))


def test_failures_do_not_stop_the_others_and_lasting_ones_are_remembered(served_distro: ServedDistro) -> None:
    server = served_distro.server
    every = sorted(components(served_distro.distro))
    port = _closed_port()
    _down_distro(served_distro, "greet-data", port)  # temporary: the server is down
    shutil.move(server.root / "git/libgreet.git", server.root / "aside.git")  # lasting: no such repository

    code, out, err = run_trib(served_distro.args("-O", "json", "comp", "update", "-a"))
    assert code == 2
    lines = err.splitlines()
    assert lines == [
        (f"error: component 'greet-data': cannot reach http://127.0.0.1:{port}/git/greet-data.git: "
         "Connection refused (hint: check the network or the URL; TRIB_CONNECT_TIMEOUT sets the connect time-out)"),
        (f"error: component 'libgreet': no dist-git repository at {server.url}/git/libgreet.git (hint: check "
         "dist-git-base-uri and spec.upstream-name; a repository served by a plain web server needs 'git "
         "update-server-info' run in it)"),
        f"error: 2 of {len(every)} component(s) failed; every other one was locked: greet-data, libgreet",
    ]
    rows = {row["component"]: row for row in json.loads(out)}
    assert sorted(rows) == every
    assert {name for name, row in rows.items() if row["status"] == "failed"} == {"greet-data", "libgreet"}
    assert (rows["greet-data"]["temporary"], rows["libgreet"]["temporary"]) == (True, False)
    locks = served_distro.root / "locks"
    assert sorted(p.name for p in locks.iterdir()) == sorted(f"{n}.lock" for n in every if n not in ("greet-data", "libgreet"))

    # Again: the lasting failure is reported without asking the server; the temporary one is tried again.
    asked = server.count("/git/libgreet.git")
    code, out, err = run_trib(served_distro.args("-O", "json", "comp", "update", "-a"))
    assert code == 2
    rows = {row["component"]: row for row in json.loads(out)}
    assert (rows["libgreet"]["remembered"], rows["greet-data"]["remembered"]) == (True, False)
    assert err.splitlines()[1].endswith("(remembered from the last run; --force tries again)")
    assert server.count("/git/libgreet.git") == asked

    shutil.move(server.root / "aside.git", server.root / "git/libgreet.git")
    assert run_trib(served_distro.args("comp", "update", "libgreet"))[0] == 2  # still remembered
    code, out, err = run_trib(served_distro.args("comp", "update", "libgreet", "--force"))
    assert code == 0, err
    assert server.count("/git/libgreet.git") > asked
    assert read_lock(locks / "libgreet.lock") is not None


def test_each_lock_is_written_as_it_completes_so_a_killed_update_keeps_them(served_distro: ServedDistro) -> None:
    server = served_distro.server
    hold = Hold()
    server.on_request = lambda path: hold(path) if path.startswith("/git/greet-data.git/") else None
    locks = served_distro.root / "locks"
    others = [name for name in components(served_distro.distro) if name != "greet-data"]
    child = trib_child(served_distro.args("comp", "update", "-a"))
    try:
        assert hold.wait_for(1), "greet-data's lookup never reached the server"
        wait_for(lambda: all((locks / f"{name}.lock").exists() for name in others), 60,
                 "the other components' locks, while greet-data's lookup is held")
        written = tree(locks)
        child.process.send_signal(signal.SIGKILL)
        assert child.wait(60)[0] == -signal.SIGKILL
    finally:
        hold.release()
    assert wait_until_gone(child.marker, 30) == {}
    assert tree(locks) == written  # whole locks only: no temporary file, nothing for greet-data
    assert sorted(written) == sorted(f"{name}.lock" for name in others)
    assert all(read_lock(locks / name) is not None for name in written)
    server.on_request = None
    assert run_trib(served_distro.args("comp", "update", "-a"))[0] == 0
    assert (locks / "greet-data.lock").exists()
