"""Every network operation has a connect and a read time-out, set by TRIB_CONNECT_TIMEOUT /
TRIB_READ_TIMEOUT or --connect-timeout / --read-timeout, and the error names the URL that stalled.

Two loopback servers stand in for the broken ones: one accepts connections and never answers (a
stalled server), one never accepts them (its backlog is full, so the kernel drops further attempts,
as a firewall that drops packets would).

On fc1b5b1: ``prep-sources`` against the stalled lookaside hangs for 60 s per attempt (three attempts)
and ``comp update`` against a stalled dist-git hangs for ever; each test fails by its own time limit
(the child is killed at 60 s) before a message exists.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import ExampleDistro, components, copy_example_distro, run_trib, tree, trib_child, wait_until_gone


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts every connection and never sends a byte."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


@contextlib.contextmanager
def unaccepting_server() -> Iterator[int]:
    """A port on 127.0.0.1 whose accept queue is full: a connection attempt gets no answer at all."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):  # a backlog of 0 still takes one or two; fill it
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def _distro(tmp_path: Path, example_upstream, *, dist_git: str | None = None, lookaside: str | None = None) -> ExampleDistro:
    distro = copy_example_distro(tmp_path, example_upstream.root, lookaside=True)
    text = distro.mirror.read_text()
    if dist_git:
        text += f'dist-git-base-uri = "{dist_git}"\n'
        text = text.replace(f'dist-git-base-uri = "file://{example_upstream.root}/git/$pkg.git"\n', "", 1)
    if lookaside:
        text = "\n".join(line for line in text.splitlines() if not line.startswith("lookaside-base-uri")) + "\n"
        text += f'lookaside-base-uri = "{lookaside}"\n'
    distro.mirror.write_text(text)
    return distro


LOOKASIDE = "/lookaside/$pkg/$filename/$hashtype/$hash/$filename"


def test_a_stalled_lookaside_fails_after_the_read_time_out_naming_the_url(tmp_path, example_upstream) -> None:
    with silent_server() as port:
        distro = _distro(tmp_path, example_upstream, lookaside=f"http://127.0.0.1:{port}{LOOKASIDE}")
        out_dir = tmp_path / "prepared"
        child = trib_child(distro.args("comp", "prep-sources", "greet", "-o", str(out_dir)), env={"TRIB_READ_TIMEOUT": "1"})
        code, _, err = child.wait(60)
    assert code == 2, err
    first = err.splitlines()[0]
    assert first.startswith("error: cannot fetch 'greet-")
    assert f": http://127.0.0.1:{port}/lookaside/greet/greet-" in first
    assert first.endswith(": no data for 1 s after 0 byte(s) (read time-out; TRIB_READ_TIMEOUT)")
    assert not out_dir.exists()  # nothing half-prepared
    lookaside_cache = distro.root / "build/work/cache/lookaside"
    assert not [p for p in lookaside_cache.rglob("*") if p.is_file()]  # no partial download kept
    assert wait_until_gone(child.marker, 10) == {}


def test_an_unanswered_lookaside_connection_fails_after_the_connect_time_out(tmp_path, example_upstream) -> None:
    with unaccepting_server() as port:
        distro = _distro(tmp_path, example_upstream, lookaside=f"http://127.0.0.1:{port}{LOOKASIDE}")
        out_dir = tmp_path / "prepared"
        code, _, err = run_trib(["--connect-timeout", "1", *distro.args("comp", "prep-sources", "greet", "-o", str(out_dir))],
                                  timeout=60)
    assert code == 2, err
    first = err.splitlines()[0]
    assert f": http://127.0.0.1:{port}/lookaside/greet/greet-" in first
    assert first.endswith(": no connection within 1 s (connect time-out; TRIB_CONNECT_TIMEOUT)")
    assert not out_dir.exists()


def test_a_stalled_dist_git_fails_after_the_read_time_out_and_locks_the_rest(tmp_path, example_upstream) -> None:
    with silent_server() as port:
        # Only greet-data's repository is on the stalled server; every other component is reachable.
        distro = _distro(tmp_path, example_upstream)
        with distro.mirror.open("a") as handle:
            handle.write(f'\n[distros.stalled]\ndescription = "a stalled mirror"\ndefault-version = "43"\n'
                         f'dist-git-base-uri = "http://127.0.0.1:{port}/git/$pkg.git"\n'
                         '[distros.stalled.versions.43]\nrelease-ver = "43"\ndist-git-branch = "f43"\n')
        toml = distro.root / "base/comps/greet-data/greet-data.comp.toml"
        toml.write_text(toml.read_text().replace(
            "[components.greet-data]\n",
            '[components.greet-data]\nspec = { type = "upstream", upstream-distro = { name = "stalled", version = "43" } }\n', 1))
        child = trib_child(["--read-timeout", "1", *distro.args("comp", "update", "-a")])
        code, _, err = child.wait(60)
    assert code == 2, err
    lines = err.splitlines()
    assert lines[0] == (f"error: component 'greet-data': http://127.0.0.1:{port}/git/greet-data.git sent no data for "
                        "1 s (read time-out; TRIB_READ_TIMEOUT) (hint: the server accepted the connection and went "
                        "silent; raise TRIB_READ_TIMEOUT (or --read-timeout) if it is only slow)")
    names = components(distro)
    assert lines[-1] == f"error: 1 of {len(names)} component(s) failed; every other one was locked: greet-data"
    assert sorted(p.name for p in (distro.root / "locks").iterdir()) == sorted(
        f"{name}.lock" for name in names if name != "greet-data")
    mirrors = distro.root / "build/work/cache/dist-git"
    assert not [p.name for p in mirrors.iterdir() if p.name.startswith(".")]  # no half-made mirror
    assert wait_until_gone(child.marker, 10) == {}


def test_an_unanswered_dist_git_connection_fails_after_the_connect_time_out(tmp_path, example_upstream) -> None:
    with unaccepting_server() as port:
        distro = _distro(tmp_path, example_upstream, dist_git=f"http://127.0.0.1:{port}/git/$pkg.git")
        before = tree(distro.root)
        code, _, err = run_trib(distro.args("comp", "update", "greet"), env={"TRIB_CONNECT_TIMEOUT": "1"}, timeout=60)
    assert code == 2, err
    assert err.splitlines()[0] == (
        f"error: component 'greet': cannot reach http://127.0.0.1:{port}/git/greet.git: no connection within 1 s "
        "(connect time-out; TRIB_CONNECT_TIMEOUT) (hint: check the network or the URL; TRIB_CONNECT_TIMEOUT sets "
        "the connect time-out)")
    assert _project_files(distro) == {k: v for k, v in before.items() if not k.startswith("build/")}
    assert not (distro.root / "locks").exists()


def _project_files(distro: ExampleDistro) -> dict[str, bytes]:
    """The project's files, without its work directory (caches may change)."""
    return {k: v for k, v in tree(distro.root).items() if not k.startswith("build/")}


@pytest.mark.parametrize(("how", "first"), [
    (["--read-timeout", "0"], "error: --read-timeout='0' is not a positive number of seconds (hint: for example --read-timeout=30)"),
    (["--connect-timeout", "-2"], "error: --connect-timeout='-2' is not a positive number of seconds (hint: for example --connect-timeout=30)"),
])
def test_a_time_out_that_is_not_a_positive_number_is_bad_input(tmp_path, example_upstream, how, first) -> None:
    distro = _distro(tmp_path, example_upstream)
    code, _, err = run_trib([*how, *distro.args("comp", "update", "-a")])
    assert (code, err.splitlines()[0]) == (2, first)
    assert not (distro.root / "locks").exists()


def test_a_time_out_variable_that_is_not_a_number_is_bad_input(tmp_path, example_upstream) -> None:
    distro = _distro(tmp_path, example_upstream)
    code, _, err = run_trib(distro.args("comp", "update", "-a"), env={"TRIB_READ_TIMEOUT": "soon"})
    assert (code, err.splitlines()[0]) == (
        2, "error: TRIB_READ_TIMEOUT='soon' is not a positive number of seconds (hint: for example TRIB_READ_TIMEOUT=30)")
    assert not (distro.root / "locks").exists()
