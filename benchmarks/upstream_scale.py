"""Benchmark: lock and render an Azure-Linux-sized distribution from a dist-git upstream on loopback.

A synthetic upstream of about 7,600 dist-git repositories (one bare repository per package, branch
``f43``, 10 to 14 commits each with version changes, dated across 2024-2026) is served over HTTP on
127.0.0.1 with git's smart protocol, as Fedora's dist-git serves it (``git upload-pack`` answering
each request). The specs are render_scale.py's
Fedora-shaped specs (2-40 KB, subpackages, ``%if`` blocks, patches, a long ``%changelog``); about a
third use ``%autorelease`` and ``%autochangelog``; and, as issue 15 lists, some carry constructs the
real tree has: Release values like ``2.1%{?dist}``, ``22%{?dist}%{?buildid}``,
``2%{?prever_dot}%{?dist}`` and ``9.git%{gittagcommit}%{?dist}``; a Release inside ``%if``/``%else``
with ``%autorelease``; patches named by a ``%{lua:}`` loop; Source URLs ending ``#./name``; ``Patch 0:``
with a space; a ``*.patches`` file applied with ``git am``. Each has its files in the repository. About
230 overlays on about 100 components follow Azure Linux's mix (render_scale.py's generator, written
against the locked spec). A few packages have no repository at all (the upstream dropped them): those
fail, lastingly, and every other component must lock and render.

The upstream is generated once and cached (``--cache``, keyed by size and generator version): every
repository's objects are written straight into one pack file and its index, in Python, with no git
process, so a fresh cache takes about a minute and a cached one nothing.

Measured in one run, each through the ``trib`` command line as a user runs it (the distribution is a
git repository, the locks are committed between update and render as a real distribution commits
them):

1. cold ``trib comp update -a``: no mirror, no lock;
2. cold ``trib comp render -a -j 2``: mirrors and locks present, nothing rendered;
3. no-op ``trib comp render -a -j 2``: nothing changed;
4. ``trib comp render -a --check``.

Targets on 2 cores: cold update <= 90 s, cold render <= 120 s, no-op render <= 2 s, --check <= 2 s,
every component with a reachable upstream locked and rendered, and no HTTP request during 3 and 4.
The server shares the two cores: its CPU time during the update is reported beside trib's own.

    python benchmarks/upstream_scale.py [--json] [--components N] [--cache DIR] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import json
import os
import random
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import Target, git_commit_all, machine, report, scratch_dir, timed, tributary_commit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the tests' loopback git server
from render_scale import (
    AZURE_COMPONENTS,
    PACKAGERS,
    Needs,
    Spec,
    component_toml,
    make_overlays,
    make_spec,
    plan_distribution,
    spec_target_size,
    toml_string,
)
from support import answer_smart_http

GENERATOR_VERSION = "1"
SEED = 20260415
BRANCH = "f43"
SNAPSHOT = datetime(2026, 2, 24, tzinfo=UTC)
MISSING_SHARE = 0.005  # packages whose repository is gone upstream
AUTORELEASE_SHARE = 0.35
# Issue 15's constructs, and how many components carry each at Azure Linux's size.
CONSTRUCTS = {
    "release-dot": 40,
    "release-buildid": 30,
    "release-prever": 30,
    "release-git": 24,
    "conditional-autorelease": 12,
    "lua-patches": 8,
    "fragment-dot": 20,
    "patch-space": 12,
    "git-am-series": 8,
}
DEPENDS_ON_RELEASE_REFS = (
    "release-dot",
    "release-buildid",
    "release-prever",
    "release-git",
    "conditional-autorelease",
    "lua-patches",
    "fragment-dot",
    "patch-space",
    "git-am-series",
)


# --- a git repository written by hand: loose refs, one pack, what a dumb-HTTP client reads -------------

_KINDS = {"commit": 1, "tree": 2, "blob": 3}


def _object_id(kind: str, data: bytes) -> bytes:
    return hashlib.sha1(f"{kind} {len(data)}\0".encode() + data).digest()


def _pack_header(kind: int, size: int) -> bytes:
    """A pack entry's type and size: 4 bits of size in the first byte, then 7 bits a byte."""
    out = bytearray()
    byte = (kind << 4) | (size & 0x0F)
    size >>= 4
    while size:
        out.append(byte | 0x80)
        byte = size & 0x7F
        size >>= 7
    out.append(byte)
    return bytes(out)


class Repository:
    """Objects collected in memory, then written as one pack (version 2) with its index (version 2)."""

    def __init__(self) -> None:
        self.objects: dict[bytes, tuple[str, bytes]] = {}

    def add(self, kind: str, data: bytes) -> bytes:
        oid = _object_id(kind, data)
        self.objects.setdefault(oid, (kind, data))
        return oid

    def tree(self, files: dict[str, bytes]) -> bytes:
        entries = b"".join(
            b"100644 " + name.encode() + b"\0" + self.add("blob", data)
            for name, data in sorted(files.items(), key=lambda item: item[0].encode())
        )
        return self.add("tree", entries)

    def commit(self, tree: bytes, parent: bytes | None, who: str, when: int, message: str) -> bytes:
        lines = [f"tree {tree.hex()}"] + ([f"parent {parent.hex()}"] if parent else [])
        lines += [f"author {who} {when} +0000", f"committer {who} {when} +0000", "", message]
        return self.add("commit", ("\n".join(lines) + "\n").encode())

    def write(self, path: Path, branch: str, head: bytes) -> None:
        pack = bytearray(b"PACK" + struct.pack(">II", 2, len(self.objects)))
        index: list[tuple[bytes, int, int]] = []
        for oid, (kind, data) in self.objects.items():
            entry = _pack_header(_KINDS[kind], len(data)) + zlib.compress(data, 1)
            index.append((oid, zlib.crc32(entry), len(pack)))
            pack += entry
        pack_sum = hashlib.sha1(pack).digest()
        pack += pack_sum
        index.sort()
        fanout = [0] * 256
        for oid, _, _ in index:
            fanout[oid[0]] += 1
        total = 0
        for byte in range(256):
            total += fanout[byte]
            fanout[byte] = total
        idx = bytearray(b"\xfftOc" + struct.pack(">I", 2) + struct.pack(">256I", *fanout))
        idx += b"".join(oid for oid, _, _ in index)
        idx += b"".join(struct.pack(">I", crc) for _, crc, _ in index)
        idx += b"".join(struct.pack(">I", offset) for _, _, offset in index)
        idx += pack_sum
        idx += hashlib.sha1(idx).digest()
        name = f"pack-{pack_sum.hex()}"
        (path / "objects/pack").mkdir(parents=True)
        (path / "objects/info").mkdir(parents=True)
        (path / "refs/heads").mkdir(parents=True)
        (path / "info").mkdir()
        (path / f"objects/pack/{name}.pack").write_bytes(bytes(pack))
        (path / f"objects/pack/{name}.idx").write_bytes(bytes(idx))
        (path / "objects/info/packs").write_text(f"P {name}.pack\n\n")
        (path / f"refs/heads/{branch}").write_text(head.hex() + "\n")
        (path / "info/refs").write_text(f"{head.hex()}\trefs/heads/{branch}\n")
        (path / "HEAD").write_text(f"ref: refs/heads/{branch}\n")
        (path / "config").write_text("[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n")


# --- the packages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Package:
    name: str
    kinds: tuple[str, ...]  # overlay bundle kinds (render_scale's plan)
    construct: str | None
    autorelease: bool
    missing: bool


def plan_packages(count: int) -> tuple[list[Package], Any]:
    rng = random.Random(SEED)
    plan = plan_distribution(count, rng)
    scale = count / AZURE_COMPONENTS
    plain = [name for name in plan.names if name not in plan.overlay_kinds]
    rng.shuffle(plain)
    constructs: dict[str, str] = {}
    for construct, full in CONSTRUCTS.items():
        for _ in range(max(1, round(full * scale))):
            constructs[plain.pop()] = construct
    missing = {plain.pop() for _ in range(max(1, round(count * MISSING_SHARE)))}
    autorelease = {name for name in plain if rng.random() < AUTORELEASE_SHARE}
    packages = [
        Package(
            name, tuple(plan.overlay_kinds.get(name, ())), constructs.get(name), name in autorelease, name in missing
        )
        for name in plan.names
    ]
    return packages, plan


def _history(package: Package, spec: Spec, rng: random.Random) -> list[tuple[str, int, datetime, str]]:
    """(version, release, date, message) of each commit, oldest first; the last is the spec as generated."""
    count = rng.randint(10, 14)
    major, minor = (spec.version.split(".") + ["0"])[:2]
    versions: list[tuple[str, int]] = []
    version_number = max(0, int(minor) - rng.randint(3, 5))
    release = 1
    for index in range(count - 1):
        if index > 0 and rng.random() < 0.3:
            version_number += 1
            release = 1
        else:
            release += 1 if index else 0
        versions.append((f"{major}.{version_number}", release))
    versions.append((spec.version, spec.release))
    # Dates: most of the history before the snapshot, the last commit or two after it for many packages.
    newest = SNAPSHOT + timedelta(days=rng.randint(-60, 90))
    dates = sorted(
        newest - timedelta(days=rng.randint(1, 800), seconds=rng.randint(0, 86399)) for _ in range(count - 1)
    )
    dates.append(newest)
    messages = [f"Initial import (fedora#{rng.randint(1000000, 2399999)})"]
    for (version, _), previous in zip(versions[1:], versions[:-1], strict=True):
        messages.append(
            f"Update to {version}"
            if version != previous[0]
            else rng.choice(
                [
                    "Rebuilt for the mass rebuild",
                    "Fix FTBFS with GCC 15",
                    "Backport a crash fix",
                    "Convert license tag to SPDX",
                    "Drop an obsolete patch",
                    "Modernise the spec",
                ]
            )
        )
    return [(v, r, d, m) for (v, r), d, m in zip(versions, dates, messages, strict=True)]


def _changelog_entry(who: str, when: datetime, evr: str, message: str) -> list[str]:
    return [f"* {when.strftime('%a %b %d %Y')} {who} - {evr}", f"- {message}", ""]


def _special(package: Package, text: str, release: int, files: dict[str, str], rng: random.Random) -> str:
    """Issue 15's constructs, written into a spec's text (with the files they name)."""
    name = package.name
    construct = package.construct
    release_line = f"Release:        {release}%{{?dist}}"
    if construct == "release-dot":
        return text.replace(release_line, f"Release:        {release}.1%{{?dist}}")
    if construct == "release-buildid":
        return text.replace(release_line, f"Release:        {release + 20}%{{?dist}}%{{?buildid}}")
    if construct == "release-prever":
        text = "%global prerelease rc1\n%global prever_dot .%{prerelease}\n" + text
        return text.replace(release_line, f"Release:        {release}%{{?prever_dot}}%{{?dist}}")
    if construct == "release-git":
        text = f"%global gittagcommit {rng.getrandbits(28):07x}\n" + text
        return text.replace(release_line, f"Release:        {release + 8}.git%{{gittagcommit}}%{{?dist}}")
    if construct == "conditional-autorelease":
        text = text.replace(
            release_line, "%if 0%{?rhel}\nRelease:        1%{?dist}\n%else\nRelease:        %autorelease\n%endif"
        )
        return text[: text.index("%changelog\n")] + "%changelog\n%autochangelog\n"
    if construct == "lua-patches":
        for number in range(1, 4):
            files[f"{name}-lua{number:03d}.patch"] = f"--- a/lua{number}\n+++ b/lua{number}\n@@ -1 +1 @@\n-a\n+b\n"
        loop = (
            '%{lua:for i=1,3 do print(string.format("Patch%u: %s-lua%03u.patch\\n", 100+i, rpm.expand("%{name}"), i)) '
            "end}"
        )
        return text.replace("\nBuildRequires:", f"\n{loop}\n\nBuildRequires:", 1)
    if construct == "fragment-dot":
        files[f"{name}-extra.conf"] = f"# {name} extra settings\n"
        tag = f"Source90:       https://src.example.org/{name}/raw/main/contrib/{name}-extra.conf#./{name}-extra.conf"
        return text.replace("\nBuildRequires:", f"\n{tag}\n\nBuildRequires:", 1)
    if construct == "patch-space":
        files[f"{name}-space.patch"] = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"
        return text.replace("\nBuildRequires:", f"\nPatch 99:       {name}-space.patch\n\nBuildRequires:", 1)
    if construct == "git-am-series":
        series = [f"00{number}-{name}-backport.patch" for number in range(1, 4)]
        for patch in series:
            files[patch] = f"From 0 Mon Sep 17 00:00:00 2001\nSubject: [PATCH] {patch}\n\n---\n"
        files[f"{name}.patches"] = "".join(f"{patch}\n" for patch in series)
        text = text.replace("\nBuildRequires:", f"\nSource80:       {name}.patches\n\nBuildRequires:", 1)
        return text.replace(
            "\n%build\n", "\ngit init -q && git am $(sed 's|^|%{_sourcedir}/|' %{SOURCE80})\n\n%build\n", 1
        )
    return text


def make_package(package: Package, root: Path) -> dict[str, Any]:
    """Write ``root/git/<name>.git``; return the overlays (and their files) written against its locked spec."""
    rng = random.Random(f"{SEED}:{package.name}")
    kinds = list(package.kinds)
    needs = Needs(Counter(kinds), check="sr-check" in kinds, rich=bool(kinds))
    spec = make_spec(package.name, rng, spec_target_size(rng), needs)
    overlays, added = make_overlays(spec, kinds, rng) if kinds else ([], {})
    history = _history(package, spec, rng)
    repository = Repository()
    parent = None
    entries: list[str] = []
    for version, release, when, message in history:
        who = rng.choice(PACKAGERS)
        files = dict(spec.files)
        current = replace(spec, version=version, release=release)
        if package.autorelease:
            text = current.text()
            text = text.replace(f"Release:        {release}%{{?dist}}", "Release:        %autorelease")
            text = text[: text.index("%changelog\n")] + "%changelog\n%autochangelog\n"
        else:
            entries = _changelog_entry(who, when, f"{version}-{release}", message) + entries
            text = replace(current, changelog=entries + spec.changelog).text()
        text = _special(package, text, release, files, random.Random(f"{SEED}:{package.name}:special"))
        tarball = f"{package.name}-{version}.tar.gz"
        files["sources"] = f"SHA512 ({tarball}) = {hashlib.sha512(tarball.encode()).hexdigest()}\n"
        files[f"{package.name}.spec"] = text
        tree = repository.tree({name: data.encode() for name, data in files.items()})
        parent = repository.commit(tree, parent, who, int(when.timestamp()), message)
    repository.write(root / "git" / f"{package.name}.git", BRANCH, parent)  # type: ignore[arg-type]
    return {"overlays": overlays, "added": added, "commits": len(history)}


def _make_one(args: tuple[Package, str]) -> tuple[str, dict[str, Any]]:
    package, root = args
    return package.name, make_package(package, Path(root))


def generate_upstream(cache: Path, count: int) -> tuple[Path, dict[str, Any]]:
    """The cached upstream for ``count`` packages (made when absent); its directory and facts."""
    root = cache / f"upstream-scale-v{GENERATOR_VERSION}-{count}-{SEED}"
    facts_path = root / "facts.json"
    if facts_path.is_file():
        return root, json.loads(facts_path.read_text())
    if root.exists():
        shutil.rmtree(root)
    staging = root.with_name(root.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "git").mkdir(parents=True)
    packages, _ = plan_packages(count)
    made: dict[str, Any] = {}
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(os.cpu_count() or 1) as pool:
        wanted = [(p, str(staging)) for p in packages if not p.missing]
        for name, result in pool.imap_unordered(_make_one, wanted, chunksize=32):
            made[name] = result
    facts = {
        "packages": count,
        "repositories": len(made),
        "missing": sorted(p.name for p in packages if p.missing),
        "commits": sum(r["commits"] for r in made.values()),
        "constructs": dict(Counter(p.construct for p in packages if p.construct)),
        "autorelease": sum(1 for p in packages if p.autorelease and not p.missing),
        "overlays": {
            name: {"overlays": r["overlays"], "added": r["added"]} for name, r in made.items() if r["overlays"]
        },
    }
    (staging / "facts.json").write_text(json.dumps(facts))
    staging.rename(root)
    return root, facts


# --- the distribution ----------------------------------------------------------------------------------


def write_project(root: Path, count: int, facts: dict[str, Any]) -> None:
    packages, plan = plan_packages(count)
    # One root file: the project, Fedora as the upstream (its real URLs; the benchmark points dist-git at
    # the loopback server with --config-file, as Azure Linux points at a mirror) and the target distro.
    snapshot = f"{SNAPSHOT:%Y-%m-%dT%H:%M:%SZ}"
    (root / "azldev.toml").write_text("\n".join([
        'includes = ["base/comps/*.toml", "base/comps/**/*.comp.toml"]',
        "[project]",
        'description = "synthetic distribution for benchmarks/upstream_scale.py"',
        'default-distro = { name = "azurelinux", version = "4.0" }',
        "[distros.fedora]",
        'default-version = "43"',
        'dist-git-base-uri = "https://src.fedoraproject.org/rpms/$pkg.git"',
        'lookaside-base-uri = "https://src.fedoraproject.org/repo/pkgs/$pkg/$filename/$hashtype/$hash/$filename"',
        f'versions.43 = {{ release-ver = "43", dist-git-branch = "{BRANCH}" }}',
        "[distros.azurelinux]",
        'default-version = "4.0"',
        '[distros.azurelinux.versions."4.0"]',
        'release-ver = "4.0"',
        "[distros.azurelinux.versions.\"4.0\".default-component-config.spec]",
        'type = "upstream"',
        f'upstream-distro = {{ name = "fedora", version = "43", snapshot = "{snapshot}" }}',
    ]) + "\n")
    comps = root / "base/comps"
    comps.mkdir(parents=True)
    overlays = facts["overlays"]
    lines = []
    for package in packages:
        if package.name in overlays or package.name in plan.build_options:
            directory = comps / package.name
            directory.mkdir()
            entry = overlays.get(package.name, {"overlays": [], "added": {}})
            for relative, content in entry["added"].items():
                (directory / relative).parent.mkdir(exist_ok=True)
                (directory / relative).write_text(content)
            (directory / f"{package.name}.comp.toml").write_text(
                component_toml(package.name, entry["overlays"], plan.build_options.get(package.name), False,
                               local=False)
            )
        else:
            lines.append(f"[components.{toml_string(package.name)}]\n")
    (comps / "components.toml").write_text("".join(lines))


# --- serving and measuring ------------------------------------------------------------------------------


class Server:
    """git's smart HTTP protocol on 127.0.0.1 for the repositories below ``root``, as real dist-git serves
    it: ``git upload-pack`` answers each request, framed as ``git http-backend`` frames it (the tests'
    loopback server's code). The server runs in this process, outside the measured ``trib`` commands,
    and counts the requests; its CPU time (its own and its git processes') is reported, since it
    shares the two cores with what is measured."""

    def __init__(self, root: Path) -> None:
        state = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                state.count()
                if not answer_smart_http(self, root):
                    self.send_error(404)

            do_POST = do_GET

        self._lock = threading.Lock()
        self._requests = 0
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.request_queue_size = 64
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="dist-git", daemon=True)
        self._thread.start()

    def count(self) -> None:
        with self._lock:
            self._requests += 1

    @property
    def requests(self) -> int:
        with self._lock:
            return self._requests

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()


def cpu_seconds() -> float:
    """CPU time of this process and of the children it has reaped (the server's git processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass(frozen=True)
class Run:
    """One ``trib`` command: wall seconds, CPU seconds (it and its children), exit status, output."""

    seconds: float
    cpu: float
    code: int
    data: Any
    stderr: str


def trib(*args: str) -> Run:
    """Run this venv's ``trib`` (JSON output), timed, its own CPU time read from the kernel (``wait4``)."""
    command = [str(Path(sys.executable).parent / "trib"), "-O", "json", *args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, env={**os.environ, "CI": "true"})
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    try:
        data = json.loads(stdout) if stdout.strip() else None
    except ValueError:
        data = None
    return Run(seconds, usage.ru_utime + usage.ru_stime, proc.returncode, data, stderr)


def measured(server: Server, *args: str) -> tuple[Run, float]:
    """``trib(*args)`` and the CPU time the loopback server spent meanwhile (this process and its git
    processes, less the ``trib`` command's own)."""
    before = cpu_seconds()
    run = trib(*args)
    return run, max(0.0, cpu_seconds() - before - run.cpu)


def _rows_by_status(rows: list[dict[str, Any]]) -> dict[str, int]:
    return dict(Counter(row["status"] for row in rows or []))


def _failure_kinds(rows: list[dict[str, Any]], constructs: dict[str, str]) -> dict[str, int]:
    """Failed components by construct (or by the first words of their error)."""
    kinds: Counter[str] = Counter()
    for row in rows or []:
        if row.get("error"):
            name = row["component"]
            kinds[constructs.get(name) or row["error"].split(": ", 2)[-1][:60]] += 1
    return dict(kinds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--components", type=int, default=AZURE_COMPONENTS, help="distribution size (default %(default)s)"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tributary" / "benchmarks",
        help="where the generated upstream is kept between runs",
    )
    parser.add_argument("--keep", type=Path, help="write the distribution here and keep it")
    parser.add_argument("--jobs", type=int, default=2, help="render processes (default %(default)s)")
    args = parser.parse_args()
    commit = tributary_commit()
    load_average = os.getloadavg()[0]
    generate_s, (upstream, facts) = timed(lambda: generate_upstream(args.cache, args.components))
    packages, _ = plan_packages(args.components)
    constructs = {p.name: p.construct for p in packages if p.construct}
    with scratch_dir(args.keep, "trib-bench-upstream-") as root:
        server = Server(upstream)
        try:
            write_project(root, args.components, facts)
            git_commit_all(root, "synthetic distribution", ignore=("/build/", "/specs/"))
            mirror = root.parent / f"{root.name}-mirror.toml"
            mirror.write_text(f'[distros.fedora]\ndist-git-base-uri = "{server.url}/git/$pkg.git"\n')
            common = ["-C", str(root), "--config-file", str(mirror)]
            update, update_server_cpu = measured(server, *common, "comp", "update", "-a")
            update_requests = server.requests
            locks = sorted(p.name for p in (root / "locks").glob("*.lock")) if (root / "locks").is_dir() else []
            identity = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
            subprocess.run(["git", *identity, "add", "locks"], cwd=root, check=True, capture_output=True)
            subprocess.run(["git", *identity, "commit", "-qm", "Lock every component"], cwd=root, check=True,
                           capture_output=True)
            render = trib(*common, "comp", "render", "-a", "-j", str(args.jobs))
            before = server.requests
            noop = trib(*common, "comp", "render", "-a", "-j", str(args.jobs))
            check = trib(*common, "comp", "render", "-a", "--check")
            offline_requests = server.requests - before
        finally:
            server.close()
    reachable = args.components - len(facts["missing"])
    render_rows = render.data or []
    rendered_ok = sum(1 for row in render_rows if row["status"] == "ok")
    failed_render = [row for row in render_rows if row["status"] != "ok"]
    release_refs = sum(1 for row in failed_render if constructs.get(row["component"]) in DEPENDS_ON_RELEASE_REFS)
    result: dict[str, Any] = {
        "components": args.components,
        "repositories": facts["repositories"],
        "missing_repositories": len(facts["missing"]),
        "commits": facts["commits"],
        "autorelease_specs": facts["autorelease"],
        "constructs": facts["constructs"],
        "generate_s": round(generate_s, 1),
        "cold_update_s": round(update.seconds, 1),
        "cold_update_cpu_s": round(update.cpu, 1),
        "cold_update_server_cpu_s": round(update_server_cpu, 1),
        "cold_update_exit": update.code,
        "cold_update_rows": _rows_by_status(update.data),
        "cold_update_http_requests": update_requests,
        "locked": len(locks),
        "cold_render_s": round(render.seconds, 1),
        "cold_render_cpu_s": round(render.cpu, 1),
        "cold_render_exit": render.code,
        "rendered_ok": rendered_ok,
        "render_failures": _failure_kinds(failed_render, constructs),
        "render_failures_release_refs": release_refs,
        "noop_render_s": round(noop.seconds, 2),
        "noop_render_cpu_s": round(noop.cpu, 2),
        "noop_render_exit": noop.code,
        "check_s": round(check.seconds, 2),
        "check_cpu_s": round(check.cpu, 2),
        "check_exit": check.code,
        "http_requests_noop_and_check": offline_requests,
        "reachable_unlocked": reachable - len(locks),
        "reachable_unrendered": reachable - rendered_ok,
        "tributary": commit,
        "load_average_at_start": round(load_average, 2),
        **machine(),
    }
    targets = [
        Target("cold_update_s", 90),
        Target("cold_render_s", 120),
        Target("noop_render_s", 2),
        Target("check_s", 2),
        Target("reachable_unlocked", 0),
        Target("reachable_unrendered", 0),
        Target("http_requests_noop_and_check", 0),
    ]
    notes = [
        f"update stderr (last lines): {' | '.join(update.stderr.splitlines()[-2:])}",
        f"render stderr (first line): {(render.stderr.splitlines() or [''])[0][:300]}",
    ]
    if noop.stderr.strip() or check.stderr.strip():
        notes.append(f"no-op/check stderr: {(noop.stderr or check.stderr).splitlines()[0][:300]}")
    report(result, targets, as_json=args.json, notes=notes)
    return 0 if all(t.met(result) for t in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
