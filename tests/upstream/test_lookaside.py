"""The lookaside: the ``sources`` file, a content-addressed cache filled in parallel from a loopback
server, and failures (hash, HTTP status, truncation, refused connection) that leave nothing behind."""

from __future__ import annotations

import hashlib
import shutil
import socket
import threading
from pathlib import Path

import pytest

from tributary.errors import ConfigError
from tributary.upstream.errors import DownloadError, UpstreamError
from tributary.upstream.lookaside import (
    LookasideCache,
    Wanted,
    fetch_lookaside,
    lookaside_url,
    obtain_all,
    parse_sources,
    read_sources,
)
from tributary.upstream.source_files import fetch_component_files
from tributary.upstream.sources import fetch_sources

TEMPLATE = "/lookaside/$pkg/$filename/$hashtype/$hash/$filename"


def sha512(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest()


def publish(server, package: str, filename: str, data: bytes) -> str:
    """Put ``data`` on the server where the lookaside template finds it; its request path."""
    path = f"/lookaside/{package}/{filename}/sha512/{sha512(data)}/{filename}"
    target = server.root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return path


def sources_dir(tmp_path: Path, lines: list[str]) -> Path:
    directory = tmp_path / "dist-git"
    directory.mkdir(exist_ok=True)
    (directory / "sources").write_text("".join(f"{line}\n" for line in lines))
    return directory


def files_below(root: Path) -> list[str]:
    """Every file (not directory) below ``root``: what a failure must not leave behind."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if not p.is_dir()) if root.exists() else []


@pytest.fixture
def cache(tmp_path) -> LookasideCache:
    return LookasideCache(tmp_path / "cache", attempts=1, retry_delay=0)


# --- the sources file ----------------------------------------------------------------------------------


def test_both_sources_forms_are_read():
    digest = "ab" * 64
    entries = parse_sources(f"SHA512 (greet-1.1.tar.gz) = {digest.upper()}\n\n"
                            "0123456789abcdef0123456789abcdef  old-style.tar.bz2\n"
                            f"SHA256 (odd (name).zip) = {'cd' * 32}\n")
    assert [(e.filename, e.hash_type, e.digest, e.line) for e in entries] == [
        ("greet-1.1.tar.gz", "sha512", digest, 1),
        ("old-style.tar.bz2", "md5", "0123456789abcdef0123456789abcdef", 3),
        ("odd (name).zip", "sha256", "cd" * 32, 4),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"SHA512 (a.tar) = {'0' * 128}\nSHA512 (a.tar) = {'1' * 128}\n", r"sources:2: 'a.tar' is listed twice \(first on line 1\)"),
        ("SHA512 (a.tar) = abc\n", r"sources:1: hash of 'a.tar' must be 128 hexadecimal digits for sha512"),
        (f"WHIRL (a.tar) = {'0' * 128}\n", r"sources:1: unknown hash type 'whirl'"),
        (f"SHA512 (../a.tar) = {'0' * 128}\n", r"sources:1: source file name '../a.tar' must be a plain file name"),
        ("a.tar is here\n", r"sources:1: cannot read sources line 'a.tar is here'"),
    ],
)
def test_bad_sources_lines_are_errors_at_file_and_line(text, message):
    with pytest.raises(UpstreamError, match=message):
        parse_sources(text, path=Path("sources"))


def test_no_sources_file_means_no_sources(tmp_path):
    assert read_sources(tmp_path) == []


def test_lookaside_url_follows_the_template():
    assert lookaside_url("https://h/repo/pkgs" + TEMPLATE.removeprefix("/lookaside"), "libxml++", "a b.tar", "SHA512",
                         "ab") == "https://h/repo/pkgs/libxml++/a%20b.tar/sha512/ab/a%20b.tar"


# --- downloads -----------------------------------------------------------------------------------------


def test_download_fills_cache_and_destination_and_the_second_time_uses_the_cache(http_server, cache, tmp_path):
    data = b"tarball bytes\n" * 5000
    path = publish(http_server, "greet", "greet-1.1.tar.gz", data)
    sources = sources_dir(tmp_path, [f"SHA512 (greet-1.1.tar.gz) = {sha512(data)}"])
    events = []
    first = fetch_lookaside(sources, package="greet", template=http_server.url + TEMPLATE, cache=cache,
                            dest=tmp_path / "dest1", progress=events.append)
    assert [(o.filename, o.url) for o in first] == [("greet-1.1.tar.gz", http_server.url + path)]
    assert (tmp_path / "dest1" / "greet-1.1.tar.gz").read_bytes() == data
    blob = cache.root / "sha512" / sha512(data)
    assert blob.read_bytes() == data and blob.stat().st_mode & 0o222 == 0  # read-only in the cache
    assert files_below(cache.root) == [f"sha512/{sha512(data)}"]
    assert events[-1].done and events[-1].received == len(data) == events[-1].total
    assert http_server.count(path) == 1

    events.clear()
    second = fetch_lookaside(sources, package="greet", template=http_server.url + TEMPLATE, cache=cache,
                             dest=tmp_path / "dest2", progress=events.append)
    assert http_server.count(path) == 1  # no new request
    assert second[0].url is None and events == [events[0]] and events[0].cached
    assert (tmp_path / "dest2" / "greet-1.1.tar.gz").read_bytes() == data
    assert (tmp_path / "dest2" / "greet-1.1.tar.gz").stat().st_mode & 0o777 == 0o644  # a copy, writable


def test_the_example_upstream_lookaside_over_http(example_upstream, http_server, cache, tmp_path):
    shutil.copytree(example_upstream.root / "lookaside", http_server.root / "lookaside")
    expected = example_upstream.package("libgreet")["lookaside"][0]
    dest = tmp_path / "dest"
    fetch_lookaside(_checkout(example_upstream, "libgreet", tmp_path), package="libgreet",
                    template=http_server.url + TEMPLATE, cache=cache, dest=dest)
    assert sha512((dest / expected["filename"]).read_bytes()) == expected["sha512"]


def test_a_file_already_in_the_destination_is_not_fetched(http_server, cache, tmp_path):
    data = b"already here\n"
    path = publish(http_server, "p", "a.tar", data)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "a.tar").write_bytes(data)
    sources = sources_dir(tmp_path, [f"SHA512 (a.tar) = {sha512(data)}"])
    assert fetch_lookaside(sources, package="p", template=http_server.url + TEMPLATE, cache=cache, dest=dest) == []
    assert http_server.count(path) == 0 and files_below(cache.root) == []


def test_a_damaged_cache_entry_is_fetched_again(http_server, cache, tmp_path):
    data = b"good bytes\n"
    path = publish(http_server, "p", "a.tar", data)
    sources = sources_dir(tmp_path, [f"SHA512 (a.tar) = {sha512(data)}"])
    fetch_lookaside(sources, package="p", template=http_server.url + TEMPLATE, cache=cache, dest=tmp_path / "d1")
    blob = cache.root / "sha512" / sha512(data)
    blob.chmod(0o644)
    blob.write_bytes(b"bit rot\n")
    fetch_lookaside(sources, package="p", template=http_server.url + TEMPLATE, cache=cache, dest=tmp_path / "d2")
    assert http_server.count(path) == 2
    assert blob.read_bytes() == data and (tmp_path / "d2" / "a.tar").read_bytes() == data


def test_hard_links_share_the_cached_blob_when_asked(http_server, cache, tmp_path):
    data = b"linked\n"
    publish(http_server, "p", "a.tar", data)
    sources = sources_dir(tmp_path, [f"SHA512 (a.tar) = {sha512(data)}"])
    fetch_lookaside(sources, package="p", template=http_server.url + TEMPLATE, cache=cache, dest=tmp_path / "d",
                    link=True)
    assert (tmp_path / "d" / "a.tar").stat().st_ino == (cache.root / "sha512" / sha512(data)).stat().st_ino


def test_local_lookaside_by_path_and_file_url(example_upstream, cache, tmp_path):
    sources = _checkout(example_upstream, "greet-data", tmp_path)
    expected = example_upstream.package("greet-data")["lookaside"][0]
    for index, base in enumerate([str(example_upstream.root), f"file://{example_upstream.root}"]):
        dest = tmp_path / f"dest{index}"
        fresh = LookasideCache(tmp_path / f"cache{index}")
        got = fetch_lookaside(sources, package="greet-data", template=base + TEMPLATE, cache=fresh, dest=dest)
        assert got[0].url.startswith(base)
        assert sha512((dest / expected["filename"]).read_bytes()) == expected["sha512"]


def test_parallel_downloads(http_server, cache, tmp_path):
    """Four requests must be in flight at once to pass the server's barrier; one at a time would stall."""
    blobs = {f"part{n}.tar": f"part {n}\n".encode() * 1000 for n in range(4)}
    paths = {name: publish(http_server, "p", name, data) for name, data in blobs.items()}
    barrier = threading.Barrier(4, timeout=10)
    http_server.on_request = lambda path: barrier.wait() if path in paths.values() else None
    sources = sources_dir(tmp_path, [f"SHA512 ({name}) = {sha512(data)}" for name, data in blobs.items()])
    got = fetch_lookaside(sources, package="p", template=http_server.url + TEMPLATE, cache=cache,
                          dest=tmp_path / "dest", jobs=4)
    assert sorted(o.filename for o in got) == sorted(blobs)
    for name, data in blobs.items():
        assert (tmp_path / "dest" / name).read_bytes() == data
    assert not barrier.broken


def test_identical_contents_are_downloaded_once(http_server, cache, tmp_path):
    data = b"same\n"
    publish(http_server, "p", "a.tar", data)
    publish(http_server, "p", "b.tar", data)
    sources = sources_dir(tmp_path, [f"SHA512 (a.tar) = {sha512(data)}", f"SHA512 (b.tar) = {sha512(data)}"])
    fetch_lookaside(sources, package="p", template=http_server.url + TEMPLATE, cache=cache, dest=tmp_path / "d")
    assert http_server.count("/lookaside/p/") == 1
    assert (tmp_path / "d" / "a.tar").read_bytes() == (tmp_path / "d" / "b.tar").read_bytes() == data


# --- failures leave nothing behind ---------------------------------------------------------------------------


def _fail_one(http_server, cache, tmp_path, break_it, *, data: bytes = b"payload\n" * 100, digest: str | None = None):
    """Fetch a good file and a broken one; return the error, after checking what was left behind."""
    good = b"the good one\n"
    publish(http_server, "p", "good.tar", good)
    expected = digest or sha512(data)
    path = f"/lookaside/p/bad.tar/sha512/{expected}/bad.tar"  # the URL the sources line leads to
    (http_server.root / path.lstrip("/")).parent.mkdir(parents=True)
    (http_server.root / path.lstrip("/")).write_bytes(data)
    break_it(path)
    sources = sources_dir(tmp_path, [f"SHA512 (good.tar) = {sha512(good)}", f"SHA512 (bad.tar) = {expected}"])
    dest = tmp_path / "dest"
    with pytest.raises(DownloadError) as info:
        fetch_lookaside(sources, package="p", template=http_server.url + TEMPLATE, cache=cache, dest=dest)
    message = str(info.value)
    assert f"cannot fetch 'bad.tar' (expected sha512 {expected}): {http_server.url}{path}: " in message
    assert files_below(dest) == []  # nothing placed unless everything arrived
    assert files_below(cache.root) == [f"sha512/{sha512(good)}"]  # only the verified good file, no temporaries
    return message


def test_hash_mismatch(http_server, cache, tmp_path):
    served = b"not what was promised\n"
    promised = sha512(b"what the sources file promised\n")
    message = _fail_one(http_server, cache, tmp_path, lambda path: None, data=served, digest=promised)
    assert message.endswith(f"hash mismatch, got sha512 {sha512(served)}")


def test_http_404(http_server, cache, tmp_path):
    message = _fail_one(http_server, cache, tmp_path, lambda path: http_server.fail(path, 404))
    assert "HTTP 404" in message


def test_http_500(http_server, cache, tmp_path):
    message = _fail_one(http_server, cache, tmp_path, lambda path: http_server.fail(path, 500))
    assert "HTTP 500" in message


def test_truncated_body(http_server, cache, tmp_path):
    data = b"0123456789" * 1000
    message = _fail_one(http_server, cache, tmp_path, http_server.truncate, data=data)
    half = data[: len(data) // 2]
    assert f"truncated download, {len(half)} of {len(data) + 1000} bytes (got sha512 {sha512(half)})" in message


def test_connection_refused(cache, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sources = sources_dir(tmp_path, [f"SHA512 (a.tar) = {'0' * 128}"])
    with pytest.raises(DownloadError, match=rf"http://127.0.0.1:{port}/lookaside/p/a.tar/.*refused"):
        fetch_lookaside(sources, package="p", template=f"http://127.0.0.1:{port}" + TEMPLATE, cache=cache,
                        dest=tmp_path / "dest")
    assert files_below(cache.root) == [] and files_below(tmp_path / "dest") == []


def test_a_server_error_is_retried(http_server, tmp_path):
    data = b"second time lucky\n"
    path = publish(http_server, "p", "a.tar", data)
    http_server.fail(path, 503, times=1)
    retrying = LookasideCache(tmp_path / "cache", attempts=2, retry_delay=0)
    got = obtain_all(retrying, [Wanted("a.tar", "sha512", sha512(data), (http_server.url + path,))])
    assert got[0].path.read_bytes() == data and http_server.count(path) == 2


def test_a_missing_file_is_not_retried(http_server, tmp_path):
    retrying = LookasideCache(tmp_path / "cache", attempts=3, retry_delay=0)
    with pytest.raises(DownloadError, match="HTTP 404"):
        obtain_all(retrying, [Wanted("a.tar", "sha512", "0" * 128, (http_server.url + "/nothing",))])
    assert http_server.count("/nothing") == 1


# --- source-files ----------------------------------------------------------------------------------------


def test_source_files_come_from_lookaside_then_origin(example_upstream, example_project, http_server, tmp_path):
    shutil.copytree(example_upstream.root / "lookaside", http_server.root / "lookaside")
    extra = b"extra source\n"
    origin_only = b"only at its origin\n"
    publish(http_server, "greet", "extra.tar", extra)  # in the lookaside under the component's package
    (http_server.root / "origin").mkdir()
    (http_server.root / "origin" / "fallback.tar").write_bytes(origin_only)
    (http_server.root / "origin" / "unhashed.txt").write_bytes(b"no hash recorded\n")
    project = example_project(
        f"file://{example_upstream.root}/git/$pkg.git", http_server.url + TEMPLATE,
        extra=f"""
[components.more]
spec = {{ type = "upstream", upstream-name = "greet" }}
[[components.more.source-files]]
filename = "extra.tar"
hash = "{sha512(extra)}"
hash-type = "SHA512"
origin = {{ type = "download", uri = "{http_server.url}/origin/never-asked.tar" }}
[[components.more.source-files]]
filename = "fallback.tar"
hash = "{sha512(origin_only)}"
hash-type = "SHA512"
origin = {{ type = "download", uri = "{http_server.url}/origin/fallback.tar" }}
[[components.more.source-files]]
filename = "unhashed.txt"
origin = {{ type = "download", uri = "{http_server.url}/origin/unhashed.txt" }}
[[components.more.source-files]]
filename = "generated.tar"
origin = {{ type = "custom", script = "make-it.sh" }}
""")
    component = project.resolve("more")
    sources = tmp_path / "sources"
    sources.mkdir()
    fetch_sources(project, component, sources)
    dest = tmp_path / "dest"
    result = fetch_component_files(project, component, sources, dest, cache=LookasideCache(tmp_path / "c", attempts=1))
    by_name = {o.filename: o for o in result.obtained}
    assert sorted(by_name) == ["extra.tar", "fallback.tar", "greet-1.1.tar.gz", "unhashed.txt"]
    assert by_name["extra.tar"].url.startswith(http_server.url + "/lookaside/greet/extra.tar/")
    assert by_name["fallback.tar"].url == f"{http_server.url}/origin/fallback.tar"
    assert by_name["unhashed.txt"].digest == sha512(b"no hash recorded\n")
    assert result.pending == ["generated.tar"]
    assert http_server.count("/origin/never-asked.tar") == 0
    assert (dest / "fallback.tar").read_bytes() == origin_only


def test_disable_origins_means_lookaside_only(example_upstream, example_project, http_server, tmp_path):
    data = b"only at its origin\n"
    (http_server.root / "origin").mkdir()
    (http_server.root / "origin" / "x.tar").write_bytes(data)
    project = example_project(
        f"file://{example_upstream.root}/git/$pkg.git", http_server.url + TEMPLATE,
        extra=f"""disable-origins = true
[components.more]
spec = {{ type = "upstream", upstream-name = "filesystem" }}
[[components.more.source-files]]
filename = "x.tar"
hash = "{sha512(data)}"
hash-type = "SHA512"
origin = {{ type = "download", uri = "{http_server.url}/origin/x.tar" }}
""")
    component = project.resolve("more")
    assert component.upstream.distro_settings.disable_origins is True
    sources = tmp_path / "sources"
    sources.mkdir()
    fetch_sources(project, component, sources)
    with pytest.raises(DownloadError, match=r"cannot fetch 'x.tar'.*/lookaside/filesystem/x.tar/.*HTTP 404"):
        fetch_component_files(project, component, sources, tmp_path / "dest", cache=LookasideCache(tmp_path / "c", attempts=1))
    assert http_server.count("/origin/") == 0


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('filename = "greet-1.1.tar.gz"\norigin = { type = "download", uri = "https://example.org/g.tgz" }',
         "'greet-1.1.tar.gz' is also in upstream's sources file"),
        (('filename = "new.tar"\nreplace-upstream = true\nreplace-reason = "r"\n'
          'origin = { type = "download", uri = "https://example.org/n.tgz" }'),
         "'new.tar' says replace-upstream, but upstream's sources file has no such file"),
    ],
)
def test_source_file_collisions(example_upstream, example_project, tmp_path, entry, message):
    project = example_project(f"file://{example_upstream.root}/git/$pkg.git",
                              extra=f'[components.more]\nspec = {{ type = "upstream", upstream-name = "greet" }}\n'
                                    f"[[components.more.source-files]]\n{entry}\n")
    component = project.resolve("more")
    sources = tmp_path / "sources"
    sources.mkdir()
    fetch_sources(project, component, sources)
    with pytest.raises(ConfigError, match=message):
        fetch_component_files(project, component, sources, tmp_path / "dest")


def test_a_replaced_upstream_file_comes_from_source_files(example_upstream, example_project, http_server, tmp_path):
    data = b"our own greet tarball\n"
    (http_server.root / "origin").mkdir()
    (http_server.root / "origin" / "g.tgz").write_bytes(data)
    project = example_project(
        f"file://{example_upstream.root}/git/$pkg.git", http_server.url + TEMPLATE,
        extra=f"""[components.more]
spec = {{ type = "upstream", upstream-name = "greet" }}
[[components.more.source-files]]
filename = "greet-1.1.tar.gz"
hash = "{sha512(data)}"
hash-type = "SHA512"
replace-upstream = true
replace-reason = "a rebuilt tarball"
origin = {{ type = "download", uri = "{http_server.url}/origin/g.tgz" }}
""")
    component = project.resolve("more")
    sources = tmp_path / "sources"
    sources.mkdir()
    fetch_sources(project, component, sources)
    result = fetch_component_files(project, component, sources, tmp_path / "dest", cache=LookasideCache(tmp_path / "c"))
    assert [o.filename for o in result.obtained] == ["greet-1.1.tar.gz"]
    assert (tmp_path / "dest" / "greet-1.1.tar.gz").read_bytes() == data


def _checkout(example_upstream, package: str, tmp_path: Path) -> Path:
    """The package's dist-git files at the branch head (its ``sources`` file)."""
    from tributary.upstream.checkout import export_tree

    dest = tmp_path / f"checkout-{package}"
    dest.mkdir()
    export_tree(example_upstream.git_dir(package), "f43", dest)
    return dest
