"""Once locks exist, checking and re-rendering the tree never touches the network: ``render --check``,
a no-op render and ``update`` of current locks run in a network namespace with no network at all
(``unshare -n``), and a no-op render asks the upstream server nothing.

On fc1b5b1 the no-op render and ``--check`` fetch every unlocked component again; with locks, they
already ran offline (these tests guard that it stays so).
"""

from __future__ import annotations

from support import ServedDistro, components, run_trib, tree

OFFLINE = ("unshare", "--net")


def test_check_and_no_op_render_run_without_a_network(served_distro: ServedDistro) -> None:
    distro, server = served_distro, served_distro.server
    assert run_trib(distro.args("comp", "update", "-a"))[0] == 0
    distro.distro.commit_all("Lock every component")
    assert run_trib(distro.args("comp", "render", "-a"))[0] == 0
    rendered = tree(distro.root / "specs")
    asked = len(server.requests)

    assert run_trib(distro.args("comp", "render", "-a"))[0] == 0  # a no-op asks the server nothing
    assert len(server.requests) == asked
    count = len(components(distro.distro))
    for args, note in ((["comp", "render", "-a", "--check"], f"all {count} component(s) are up to date\n"),
                       (["comp", "render", "-a"], f"all {count} component(s) are up to date\n"),
                       (["comp", "update", "-a"], f"all {count} lock(s) are current\n")):
        code, _, err = run_trib(distro.args(*args), prefix=OFFLINE)
        assert (code, err) == (0, note), f"{args}: {err}"
    assert tree(distro.root / "specs") == rendered

    # A changed overlay renders again from the locked commit already mirrored: still no network.
    toml = distro.root / "base/comps/greet/greet.comp.toml"
    toml.write_text(toml.read_text() + '\n[[components.greet.overlays]]\ntype = "spec-add-tag"\ntag = "Provides"\n'
                                       'value = "greeting"\n')
    code, _, err = run_trib(distro.args("comp", "render", "-a", "--check"), prefix=OFFLINE)
    assert code == 1
    assert err.splitlines() == ["1 component(s) differ from the rendered tree: greet"]
    assert tree(distro.root / "specs") == rendered  # --check writes nothing
