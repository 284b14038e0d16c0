"""``@groups`` of a buildroot's package set, read from the repositories' comps by tributary, not dnf (whose
group lookup crashes on Debian 13): real repositories, on disk and over HTTP, and a root made with dnf."""

from __future__ import annotations

import gzip
import shutil
import textwrap
from pathlib import Path

import pytest
from test_roots import noarch_rpm

from tributary.build.buildroot import comps
from tributary.build.buildroot.repos import PinnedRepo, RepositoryError
from tributary.build.buildroot.roots import RootCache, RootRecipe, UnsatisfiableError
from tributary.tools.createrepo import write_repodata

COMPS = textwrap.dedent("""\
    <?xml version="1.0" encoding="UTF-8"?>
    <!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
    <comps>
      <group>
        <id>tools</id>
        <name>Tools</name>
        <packagelist>
          <packagereq type="mandatory">tool</packagereq>
          <packagereq type="default">base-files</packagereq>
          <packagereq type="optional">extra</packagereq>
          <packagereq type="conditional" requires="tool">tool-doc</packagereq>
          <packagereq>untyped</packagereq>
        </packagelist>
      </group>
      <group>
        <id>base</id>
        <name>Base</name>
        <packagelist><packagereq type="mandatory">base-files</packagereq></packagelist>
      </group>
      <environment><id>everything</id><name>All</name><grouplist><groupid>tools</groupid></grouplist></environment>
    </comps>
    """)


@pytest.fixture(scope="module")
def grouped_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two packages and a comps document whose group @base holds one of them."""
    top = tmp_path_factory.mktemp("grouped")
    noarch_rpm(top, "base-files", {"/usr/share/base/one": "one"})
    noarch_rpm(top, "tool", {"/usr/share/tool/data": "tool data"}, requires="base-files")
    repo = top / "repo"
    (top / "comps.xml").write_text(COMPS)
    write_repodata(repo, sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*.rpm")), revision=1,
                   groupfile=top / "comps.xml")
    return repo


def pinned(url: str) -> PinnedRepo:
    return PinnedRepo("local", url, "0" * 64)


def test_a_group_stands_for_its_mandatory_and_default_packages() -> None:
    groups = comps.group_members(COMPS.encode(), "test")
    assert groups == {"tools": ["tool", "base-files", "untyped"], "base": ["base-files"]}


def test_groups_are_replaced_in_order_and_unknown_ones_returned(grouped_repo: Path) -> None:
    packages, unknown = comps.expand(["bash", "@tools", "@base", "@nope", "tool"], [pinned(grouped_repo.as_uri())])
    assert packages == ["bash", "tool", "base-files", "untyped"]
    assert unknown == ["@nope"]


def test_a_compressed_comps_document_over_http(http_server, tmp_path: Path) -> None:
    """A repository whose repomd.xml names only a gzip comps document (as some mirrors have), served on loopback."""
    repodata = http_server.root / "repo" / "repodata"
    repodata.mkdir(parents=True)
    (repodata / "abc-comps.xml.gz").write_bytes(gzip.compress(COMPS.encode()))
    (repodata / "repomd.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="http://linux.duke.edu/metadata/repo">\n'
        '  <data type="group_gz"><location href="repodata/abc-comps.xml.gz"/></data>\n</repomd>\n')
    packages, unknown = comps.expand(["@base"], [pinned(f"{http_server.url}/repo")])
    assert (packages, unknown) == (["base-files"], [])
    assert "/repo/repodata/abc-comps.xml.gz" in http_server.requests

    http_server.fail("/repo/repodata/repomd.xml", 404)
    with pytest.raises(RepositoryError, match=r"'local': cannot read http://127\.0\.0\.1:\d+/repo/repodata/repomd"):
        comps.expand(["@base"], [pinned(f"{http_server.url}/repo")])


def test_no_group_named_reads_no_metadata(tmp_path: Path) -> None:
    assert comps.expand(["bash"], [pinned((tmp_path / "absent").as_uri())]) == (["bash"], [])


def test_a_root_made_from_a_group(grouped_repo: Path, tmp_path: Path) -> None:
    """What the default buildroot does (@buildsys-build), with dnf never asked about a group."""
    repo = tmp_path / "repo"
    shutil.copytree(grouped_repo, repo)
    cache = RootCache(tmp_path / "roots")
    recipe = RootRecipe("x86_64", "1", (pinned(repo.as_uri()),), ("@base",))
    assert cache.get(recipe).installed == ("base-files-1-1.noarch",)
    with pytest.raises(UnsatisfiableError, match=r"'@nope': provided by no package of the repositories searched: "
                                                  r"local \(file://"):
        cache.get(RootRecipe("x86_64", "1", (pinned(repo.as_uri()),), ("@nope",)))
