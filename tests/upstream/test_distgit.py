"""Dist-git mirrors: URL templates, one mirror per URL kept up to date by fetch, over file, path and HTTP."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from tributary.errors import ConfigError
from tributary.tools import gitlib
from tributary.upstream import distgit, network
from tributary.upstream.distgit import Mirror, dist_git_source, mirror_name
from tributary.upstream.errors import UpstreamError
from tributary.upstream.uri import expand, local_path, redact


def refs(mirror: Mirror) -> str:
    return subprocess.run(["git", f"--git-dir={mirror.path}", "for-each-ref", "--format=%(refname) %(objectname)"],
                          capture_output=True, text=True, check=True).stdout


# --- templates -------------------------------------------------------------------------------------


def test_template_values_are_escaped_as_one_url_path_segment():
    assert expand("https://src.example.org/rpms/$pkg.git", pkg="libxml++") == "https://src.example.org/rpms/libxml++.git"
    assert expand("https://h/$pkg", pkg="a b/c?") == "https://h/a%20b%2Fc%3F"
    url = expand("https://h/repo/pkgs/$pkg/$filename/$hashtype/$hash/$filename",
                 pkg="p", filename="p-1.0.tar.gz", hashtype="sha512", hash="ab12")
    assert url == "https://h/repo/pkgs/p/p-1.0.tar.gz/sha512/ab12/p-1.0.tar.gz"


def test_path_templates_take_values_as_written_but_never_a_slash():
    assert expand("/srv/git/$pkg.git", pkg="libxml++") == "/srv/git/libxml++.git"
    with pytest.raises(UpstreamError, match=r"\$pkg value '\.\./x'"):
        expand("/srv/git/$pkg.git", pkg="../x")
    with pytest.raises(UpstreamError, match=r"uses \$hash, which has no value"):
        expand("https://h/$pkg/$hash", pkg="p")


def test_local_paths_and_redaction():
    assert local_path("file:///srv/a%20b") == "/srv/a b"
    assert local_path("/srv/x") == "/srv/x"
    assert local_path("https://h/x") is None
    assert redact("https://me:secret@h/x.git") == "https://me@h/x.git"


def test_mirror_names_are_readable_bounded_and_distinct():
    a = mirror_name("https://src.fedoraproject.org/rpms/kernel.git")
    b = mirror_name("https://mirror.example.org/rpms/kernel.git")
    assert a.startswith("src.fedoraproject.org_rpms_kernel-") and a.endswith(".git")
    assert a != b
    assert len(mirror_name("https://h/" + "x" * 500)) < 120


def test_dist_git_source_uses_upstream_name_branch_and_escaping(example_project, example_upstream):
    project = example_project(
        f"file://{example_upstream.root}/git/$pkg.git",
        extra='[components.hello]\nspec = { type = "upstream", upstream-name = "greet" }\n',
    )
    source = dist_git_source(project.resolve("hello"))
    assert (source.component, source.package, source.branch) == ("hello", "greet", "f43")
    assert source.url == f"file://{example_upstream.root}/git/greet.git"
    assert dist_git_source(project.resolve("libgreet")).package == "libgreet"


def test_relative_dist_git_path_is_a_config_error(example_project):
    project = example_project("git/$pkg.git")
    with pytest.raises(ConfigError, match="must be a URL or an absolute path"):
        dist_git_source(project.resolve("greet"))


# --- mirrors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["file", "path"])
def test_mirror_is_created_once_then_follows_upstream_by_fetch(form, upstream, maintainer, tmp_path):
    bare = upstream.git_dir("greet")
    url = f"file://{bare}" if form == "file" else str(bare)
    cache = tmp_path / "cache"
    mirror = Mirror.for_url(url, cache)
    first = mirror.update("f43")
    assert first.created and first.before is None
    assert first.after == upstream.commits("greet")[-1]
    marker = mirror.path / "tributary-test-marker"
    marker.write_text("a second clone would lose me\n")

    clone = maintainer(bare)
    new = clone.commit({"NEWS": "1.2 is coming\n"}, "Add NEWS")
    clone.push()
    assert mirror.tip("f43") == first.after  # nothing changes until the mirror is updated
    second = mirror.update("f43")
    assert (second.created, second.before, second.after) == (False, first.after, new)
    assert f"refs/heads/f43 {new}" in refs(mirror)
    assert marker.exists()  # the same mirror, fetched into, not cloned again
    assert sorted(p.name for p in cache.iterdir()) == [mirror.path.name, mirror.lock_path.name]


def test_mirror_over_http(example_upstream, git_http_server, maintainer, tmp_path):
    """Over smart HTTP (libgit2, in process) and dumb HTTP (git's program takes over from libgit2)."""
    server = git_http_server
    shutil.copytree(example_upstream.root / "git", server.root / "git")
    bare = server.root / "git" / "greet.git"
    mirror = Mirror.for_url(f"{server.url}/git/greet.git", tmp_path / "cache")
    first = mirror.update("f43")
    assert first.created and first.after == example_upstream.commits("greet")[-1]
    assert "/git/greet.git/info/refs?service=git-upload-pack" in server.requests
    assert ("/git/greet.git/git-upload-pack" in server.requests) == server.smart  # the pack, made by the server
    assert any(path.startswith("/git/greet.git/objects/") for path in server.requests) != server.smart
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [mirror.path.name, mirror.lock_path.name]
    clone = maintainer(bare)
    new = clone.commit({"NEWS": "news\n"}, "Add NEWS")
    clone.push()
    asked = len(server.requests)
    second = mirror.update("f43")
    assert (second.created, second.after) == (False, new)
    assert len(server.requests) > asked
    assert "NEWS" in [item.entry.path for item in gitlib.tree_files(mirror.path, new)]


def test_a_server_error_is_tried_again(example_upstream, git_http_server, tmp_path, monkeypatch):
    """A 503 is the server's passing trouble: the fetch is tried again; a 404 is not retried."""
    server = git_http_server
    monkeypatch.setattr(distgit, "RETRY_DELAY_S", 0.0)
    shutil.copytree(example_upstream.root / "git", server.root / "git")
    refs = "/git/greet.git/info/refs"
    server.fail(refs, 503, times=2)
    mirror = Mirror.for_url(f"{server.url}/git/greet.git", tmp_path / "cache")
    assert mirror.update("f43").after == example_upstream.commits("greet")[-1]
    # A static server answers libgit2's smart request with its file; git's program then asks once more.
    handover = 0 if server.smart else 1
    assert server.count(refs) == 3 + handover
    server.fail(refs, 503, times=5)
    again = Mirror.for_url(f"{server.url}/git/greet.git", tmp_path / "other")
    with pytest.raises(UpstreamError, match="503"):
        again.update("f43")
    assert server.count(refs) == 3 + handover + network.DEFAULT_ATTEMPTS  # that server goes to git's program at once
    assert not again.exists
    server.fail(refs, 404, times=5)
    with pytest.raises(UpstreamError, match="no dist-git repository"):
        Mirror.for_url(f"{server.url}/git/greet.git", tmp_path / "third").update("f43")
    assert server.count(refs) == 3 + handover + network.DEFAULT_ATTEMPTS + 1
    monkeypatch.setenv(network.ATTEMPTS_VARIABLE, "1")  # what --network-retries 1 sets: one try, no retry
    server.fail(refs, 503, times=1)
    with pytest.raises(UpstreamError, match="503"):
        Mirror.for_url(f"{server.url}/git/greet.git", tmp_path / "fourth").update("f43")
    assert server.count(refs) == 3 + handover + network.DEFAULT_ATTEMPTS + 2


def test_missing_branch_names_branch_and_url(example_upstream, tmp_path):
    url = f"file://{example_upstream.git_dir('greet')}"
    mirror = Mirror.for_url(url, tmp_path / "cache")
    with pytest.raises(UpstreamError, match=rf"branch 'f99' does not exist in {url}") as info:
        mirror.update("f99")
    assert "dist-git-branch" in str(info.value)
    assert not mirror.exists
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [mirror.lock_path.name]  # no half mirror


def test_missing_repository_over_http_says_what_a_web_server_needs(git_http_server, tmp_path):
    url = f"{git_http_server.url}/git/nothing.git"
    mirror = Mirror.for_url(url, tmp_path / "cache")
    with pytest.raises(UpstreamError, match=rf"no dist-git repository at {url}") as info:
        mirror.update("f43")
    assert "update-server-info" in str(info.value)
    assert not mirror.exists


def test_unreachable_server_is_a_network_error(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/git/greet.git"
    with pytest.raises(UpstreamError, match=rf"cannot reach {url}"):
        Mirror.for_url(url, tmp_path / "cache").update("f43")


def test_concurrent_updates_share_one_mirror(example_upstream, tmp_path):
    url = f"file://{example_upstream.git_dir('libgreet')}"
    cache = tmp_path / "cache"
    results, errors = [], []
    start = threading.Barrier(4)

    def work():
        try:
            start.wait()
            results.append(Mirror.for_url(url, cache).update("f43"))
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(result.created for result in results) == 1
    assert {result.after for result in results} == {example_upstream.commits("libgreet")[-1]}
    mirror = Mirror.for_url(url, cache)
    subprocess.run(["git", f"--git-dir={mirror.path}", "fsck", "--no-progress"], check=True, capture_output=True)
    assert sorted(p.name for p in cache.iterdir()) == [mirror.path.name, mirror.lock_path.name]


def test_a_mirror_of_another_url_is_refused(example_upstream, tmp_path):
    cache = tmp_path / "cache"
    real = Mirror.for_url(f"file://{example_upstream.git_dir('greet')}", cache)
    real.update("f43")
    impostor = Mirror(f"file://{example_upstream.git_dir('libgreet')}", real.path)
    with pytest.raises(UpstreamError, match="greet.git, not .*libgreet.git"):
        impostor.update("f43")


def test_mirror_name_is_used_for_the_cache_path(tmp_path: Path):
    mirror = Mirror.for_url("https://h/rpms/x.git", tmp_path)
    assert mirror.path == tmp_path / mirror_name("https://h/rpms/x.git")
    assert mirror.lock_path.name == mirror.path.name + ".lock"
