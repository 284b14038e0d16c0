"""A render killed by SIGTERM or SIGKILL (what a CI cancel sends) leaves no process behind, holds no
lock, and the next render runs at once and completes the tree.

The killed render is caught mid-way for certain: its two workers are fetching dist-git over HTTP from
a server that holds every request until the test lets go, so the signal arrives while both are busy.

On fc1b5b1 (forked workers inheriting the render lock's descriptor) the killed command's workers stay
alive holding ``<work-dir>/render.lock`` and the next render waits for ever: both tests fail at "the
workers died with the command", and without that check the next render times out.
"""

from __future__ import annotations

import shutil
import signal

import pytest
from support import Hold, run_trib, tree, trib_child, wait_until_gone


def _is_python(comm: str) -> bool:
    return comm.startswith(("python", "trib"))


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_killed_parallel_render_leaves_nothing_running_and_the_next_one_completes(served_distro, stop) -> None:
    distro, server = served_distro, served_distro.server
    specs = distro.root / "specs"
    code, _, err = run_trib(distro.args("comp", "render", "-a", "-j", "2"))
    assert code == 0, err
    reference = tree(specs)
    assert reference and all(not name.startswith(".") for name in reference)

    # Forget the mirrors, so the forced render must fetch every component again, and hold the fetches.
    shutil.rmtree(distro.root / "build" / "work" / "cache" / "dist-git")
    hold = Hold()
    server.on_request = hold
    child = trib_child(distro.args("comp", "render", "-a", "--force", "-j", "2"))
    try:
        assert hold.wait_for(2), "the two render workers never reached the server"
        child.process.send_signal(stop)
        # The workers die with the command while their fetches are still held at the server.
        left = wait_until_gone(child.marker, 30, which=_is_python)
        assert left == {}, f"render processes outlived the killed command: {left}"
    finally:
        hold.release()
    code, _, err = child.wait(60)
    if stop == signal.SIGTERM:
        assert code == 128 + signal.SIGTERM
        assert err.splitlines()[0] == ("error: stopped by SIGTERM before the command finished; what it completed "
                                       "is kept")
    else:
        assert code == -signal.SIGKILL
    assert wait_until_gone(child.marker, 60) == {}, "a program started by the killed render is still running"

    # Nothing half-written: every component directory is whole (as before); a SIGTERM also cleans up.
    after = tree(specs)
    whole = {name: data for name, data in after.items() if not name.split("/")[1].startswith(".")}
    assert whole == reference
    if stop == signal.SIGTERM:
        assert after == reference

    server.on_request = None
    code, _, err = run_trib(distro.args("comp", "render", "-a", "--force", "-j", "2"), timeout=120)
    assert code == 0, err
    assert "another render of this project is running" not in err
    assert tree(specs) == reference  # leftovers of the killed render are gone too
    assert not [p for p in (distro.root / "build" / "work").iterdir() if p.name.endswith(".render")]
