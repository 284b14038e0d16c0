#!/usr/bin/env python3
"""Turn the plain-files Example Upstream into dist-git repositories and a lookaside store.

    python make_upstream.py OUTDIR [--branch f43] [--json] [--only PKG ...] [--source DIR] [--mirror-config FILE]

Reads ``packages/<pkg>/history.toml`` (see README.md) and writes:

* ``OUTDIR/git/<pkg>.git``: a bare dist-git repository per package, one commit per
  history entry on ``--branch``, with the author and committer dates taken from the
  history, so commit hashes are the same on every run and every machine;
* ``OUTDIR/lookaside/<pkg>/<file>/sha512/<hash>/<file>``: the source tarballs, laid
  out like Fedora's lookaside cache and built reproducibly (sorted entries, fixed
  mtime, owner root:root, gzip header without name or time);
* ``OUTDIR/upstream.json``: the summary that ``--json`` prints, without the
  absolute output path;
* with ``--mirror-config FILE``: a tributary configuration file that points the
  example distribution's ``example-upstream`` distro at OUTDIR by ``file://``, for
  ``trib --config-file FILE`` when nothing serves the upstream over HTTP.

Each commit's tree holds the spec, patches and small extra files, a ``sources`` file
(``SHA512 (name-1.0.tar.gz) = <hex>``, Fedora's format) and a ``.gitignore`` naming
the tarballs, never the tarballs themselves.

The whole output is built in a temporary directory next to OUTDIR and renamed into
place, so OUTDIR is either the previous complete result or the new one.
Standard library only; needs the ``git`` command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE / "packages"
DEFAULT_BRANCH = "f43"
DISTRIBUTION = "Example Upstream"
HASH_TYPE = "sha512"
MARKER = ".example-upstream"
SUMMARY_FILE = "upstream.json"
GENERATED = ("sources", ".gitignore")
LOOKASIDE_TEMPLATE = "$pkg/$filename/$hashtype/$hash/$filename"

_AUTHOR_RE = re.compile(r"^(?P<name>[^<>]+?)\s*<(?P<email>[^<>\s]+)>$")
_BRANCH_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")


class UpstreamError(Exception):
    """A problem with the package descriptions or the output directory."""


@dataclass(frozen=True)
class Commit:
    date: dt.datetime
    author_name: str
    author_email: str
    message: str
    files: Path
    delete: tuple[str, ...]
    sources: tuple[str, ...] | None  # None: keep the previous commit's list

    @property
    def git_date(self) -> str:
        """Git's raw date format: seconds since the epoch and the UTC offset."""
        offset = self.date.utcoffset() or dt.timedelta(0)
        minutes = int(offset.total_seconds()) // 60
        sign = "-" if minutes < 0 else "+"
        minutes = abs(minutes)
        return f"{int(self.date.timestamp())} {sign}{minutes // 60:02d}{minutes % 60:02d}"

    @property
    def summary(self) -> str:
        return self.message.splitlines()[0]


@dataclass(frozen=True)
class Package:
    name: str
    root: Path
    commits: tuple[Commit, ...]


@dataclass(frozen=True)
class Tarball:
    package: str
    filename: str
    digest: str
    data: bytes

    @property
    def lookaside_path(self) -> str:
        return f"{self.package}/{self.filename}/{HASH_TYPE}/{self.digest}/{self.filename}"


# --------------------------------------------------------------------------- loading


def load_package(root: Path) -> Package:
    history = root / "history.toml"
    try:
        with history.open("rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise UpstreamError(f"{history}: {e}") from None
    entries = data.get("commit")
    if not isinstance(entries, list) or not entries:
        raise UpstreamError(f"{history}: needs at least one [[commit]]")
    commits: list[Commit] = []
    for i, entry in enumerate(entries, 1):
        where = f"{history}: commit {i}"
        unknown = set(entry) - {"date", "author", "message", "files", "delete", "sources"}
        if unknown:
            raise UpstreamError(f"{where}: unknown keys {sorted(unknown)}")
        date = entry.get("date")
        if not isinstance(date, dt.datetime) or date.tzinfo is None:
            raise UpstreamError(f"{where}: date must be an RFC 3339 date-time with an offset")
        if commits and date < commits[-1].date:
            raise UpstreamError(f"{where}: date goes backwards")
        m = _AUTHOR_RE.match(str(entry.get("author", "")))
        if not m:
            raise UpstreamError(f"{where}: author must look like 'Name <email>'")
        message = str(entry.get("message", "")).strip()
        if not message:
            raise UpstreamError(f"{where}: empty message")
        files = root / str(entry.get("files", ""))
        if not entry.get("files") or not files.is_dir():
            raise UpstreamError(f"{where}: files directory {files} does not exist")
        sources = entry.get("sources")
        if sources is not None:
            sources = tuple(str(s) for s in sources)
            for s in sources:
                if not (root / "src" / s).is_dir():
                    raise UpstreamError(f"{where}: source tree src/{s} does not exist")
        commits.append(
            Commit(
                date=date,
                author_name=m["name"],
                author_email=m["email"],
                message=message + "\n",
                files=files,
                delete=tuple(str(d) for d in entry.get("delete", [])),
                sources=sources,
            )
        )
    return Package(name=root.name, root=root, commits=tuple(commits))


def load_packages(source: Path, only: list[str] | None) -> list[Package]:
    if not source.is_dir():
        raise UpstreamError(f"{source}: no such directory")
    roots = sorted(p for p in source.iterdir() if (p / "history.toml").is_file())
    if only:
        missing = sorted(set(only) - {p.name for p in roots})
        if missing:
            raise UpstreamError(f"unknown package(s): {', '.join(missing)}")
        roots = [p for p in roots if p.name in only]
    if not roots:
        raise UpstreamError(f"{source}: no packages (no */history.toml)")
    return [load_package(p) for p in roots]


# --------------------------------------------------------------------------- tarballs


def reproducible_tarball(tree: Path, mtime: int) -> bytes:
    """A .tar.gz of TREE (top directory included) that depends only on file contents.

    Entries are sorted, owned by root:root with uid/gid 0, carry MTIME, and have
    mode 0755 (directories and executables) or 0644. The gzip header has no file
    name and a zero timestamp.
    """
    base = tree.parent
    paths = [tree, *tree.rglob("*")]
    paths.sort(key=lambda p: p.relative_to(base).parts)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in paths:
            info = tarfile.TarInfo(path.relative_to(base).as_posix())
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = mtime
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                info.type = tarfile.SYMTYPE
                info.linkname = os.readlink(path)
                info.mode = 0o777
                tar.addfile(info)
            elif stat.S_ISDIR(st.st_mode):
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            elif stat.S_ISREG(st.st_mode):
                info.mode = 0o755 if st.st_mode & 0o111 else 0o644
                content = path.read_bytes()
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
            else:
                raise UpstreamError(f"{path}: only files, directories and symlinks go in a tarball")
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


# --------------------------------------------------------------------------- git


def _git_env(home: Path) -> dict[str, str]:
    """An environment that ignores the user's and the system's git configuration."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LC_ALL": "C",
        "TZ": "UTC",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
    }


def _git(env: dict[str, str], *args: str, input: bytes | None = None) -> str:
    proc = subprocess.run(["git", *args], input=input, env=env, capture_output=True)
    if proc.returncode != 0:
        raise UpstreamError(
            f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr.decode(errors='replace').strip()}"
        )
    return proc.stdout.decode()


def _data(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload + b"\n"


def _read_tree(directory: Path) -> dict[str, tuple[bytes, bool]]:
    files: dict[str, tuple[bytes, bool]] = {}
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory).as_posix()
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            raise UpstreamError(f"{path}: dist-git trees hold regular files only")
        if path.is_file():
            if rel in GENERATED:
                raise UpstreamError(f"{path}: '{rel}' is generated by make_upstream.py")
            files[rel] = (path.read_bytes(), bool(path.stat().st_mode & 0o111))
    return files


def build_package(
    pkg: Package, gitdir: Path, branch: str, env: dict[str, str], tarballs: dict[str, Tarball]
) -> list[dict]:
    """Create the bare repository GITDIR from PKG's history; fill TARBALLS (by filename)."""
    _git(env, "init", "--quiet", "--bare", "--template=", f"--initial-branch={branch}", str(gitdir))
    stream = io.BytesIO()
    state: dict[str, tuple[bytes, bool]] = {}
    sources: tuple[str, ...] = ()
    ignored: list[str] = []
    for n, commit in enumerate(pkg.commits, 1):
        for name in commit.delete:
            if state.pop(name, None) is None:
                raise UpstreamError(f"{pkg.name}: commit {n} deletes {name}, which is not there")
        state.update(_read_tree(commit.files))
        if commit.sources is not None:
            sources = commit.sources
        lines = []
        for srcdir in sources:
            filename = f"{srcdir}.tar.gz"
            if filename not in tarballs:
                data = reproducible_tarball(pkg.root / "src" / srcdir, int(commit.date.timestamp()))
                digest = hashlib.sha512(data).hexdigest()
                tarballs[filename] = Tarball(pkg.name, filename, digest, data)
            lines.append(f"{HASH_TYPE.upper()} ({filename}) = {tarballs[filename].digest}\n")
            if f"/{filename}" not in ignored:
                ignored.append(f"/{filename}")
        tree = dict(state)
        if lines:
            tree["sources"] = ("".join(lines).encode(), False)
        if ignored:
            tree[".gitignore"] = ("".join(f"{i}\n" for i in ignored).encode(), False)

        who = f"{commit.author_name} <{commit.author_email}> {commit.git_date}".encode()
        stream.write(b"commit refs/heads/%s\nmark :%d\n" % (branch.encode(), n))
        stream.write(b"author " + who + b"\ncommitter " + who + b"\n")
        stream.write(_data(commit.message.encode()))
        stream.write(b"deleteall\n")
        for path in sorted(tree):
            content, executable = tree[path]
            stream.write(b"M %s inline %s\n" % (b"100755" if executable else b"100644", path.encode()))
            stream.write(_data(content))
        stream.write(b"\n")
    stream.write(b"done\n")
    marks = gitdir / "fast-import.marks"
    _git(env, f"--git-dir={gitdir}", "fast-import", "--quiet", "--done",
         f"--export-marks={marks}", input=stream.getvalue())
    ids = dict(line.split() for line in marks.read_text().splitlines())
    marks.unlink()
    _git(env, f"--git-dir={gitdir}", "update-server-info")
    return [
        {
            "commit": ids[f":{n}"],
            "date": c.date.isoformat().replace("+00:00", "Z"),
            "author": f"{c.author_name} <{c.author_email}>",
            "summary": c.summary,
        }
        for n, c in enumerate(pkg.commits, 1)
    ]


# --------------------------------------------------------------------------- output


def build(source: Path, branch: str, only: list[str] | None, dest: Path) -> dict:
    """Write the whole upstream into the empty directory DEST; return the summary."""
    packages = load_packages(source, only)
    (dest / "git").mkdir()
    (dest / "lookaside").mkdir()
    summary_packages = []
    with tempfile.TemporaryDirectory(prefix="git-home-") as home:
        env = _git_env(Path(home))
        for pkg in packages:
            tarballs: dict[str, Tarball] = {}
            commits = build_package(pkg, dest / "git" / f"{pkg.name}.git", branch, env, tarballs)
            for tb in tarballs.values():
                path = dest / "lookaside" / tb.lookaside_path
                path.parent.mkdir(parents=True)
                path.write_bytes(tb.data)
                path.chmod(0o644)
            summary_packages.append(
                {
                    "name": pkg.name,
                    "git": f"git/{pkg.name}.git",
                    "head": commits[-1]["commit"],
                    "commits": commits,
                    "lookaside": [
                        {"filename": tb.filename, HASH_TYPE: tb.digest,
                         "path": f"lookaside/{tb.lookaside_path}"}
                        for tb in tarballs.values()
                    ],
                }
            )
    summary = {
        "distribution": DISTRIBUTION,
        "branch": branch,
        "hash_type": HASH_TYPE,
        "dist_git": "git/$pkg.git",
        "lookaside": f"lookaside/{LOOKASIDE_TEMPLATE}",
        "packages": summary_packages,
    }
    (dest / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    (dest / MARKER).write_text("Generated by examples/upstream/make_upstream.py\n")
    return summary


def publish(outdir: Path, source: Path, branch: str, only: list[str] | None) -> dict:
    """Build next to OUTDIR, then swap the result into place."""
    if outdir.exists():
        if not outdir.is_dir():
            raise UpstreamError(f"{outdir} exists and is not a directory")
        if any(outdir.iterdir()) and not (outdir / MARKER).is_file():
            raise UpstreamError(f"{outdir} is not empty and was not made by this script; refusing to replace it")
    outdir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.new-", dir=outdir.parent))
    try:
        tmp.chmod(0o755)
        summary = build(source, branch, only, tmp)
        if outdir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.old-", dir=outdir.parent))
            os.replace(outdir, old / "x")
            os.replace(tmp, outdir)
            shutil.rmtree(old)
        else:
            os.replace(tmp, outdir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return summary


def _text_summary(summary: dict, outdir: Path) -> str:
    lines = [f"{summary['distribution']}: {len(summary['packages'])} packages on branch "
             f"{summary['branch']} in {outdir}"]
    for p in summary["packages"]:
        n = len(p["commits"])
        tarballs = ", ".join(t["filename"] for t in p["lookaside"]) or "no lookaside sources"
        lines.append(f"  {p['name']:<18} {n} commit{'s' if n != 1 else ' '}  head {p['head'][:12]}  {tarballs}")
    lines.append(f"  dist-git: {outdir}/git/<pkg>.git   lookaside: {outdir}/lookaside/{LOOKASIDE_TEMPLATE}")
    return "\n".join(lines)


def write_mirror_config(path: Path, outdir: Path) -> None:
    """A configuration file (written whole, then renamed) reading the upstream in ``outdir`` by file://."""
    base = outdir.as_uri()
    text = ("# The Example Upstream read from disk (made by make_upstream.py): trib --config-file THIS-FILE\n"
            "[distros.example-upstream]\n"
            f'dist-git-base-uri = "{base}/git/$pkg.git"\n'
            f'lookaside-base-uri = "{base}/lookaside/{LOOKASIDE_TEMPLATE}"\n')
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Build the Example Upstream dist-git repositories and lookaside store."
    )
    ap.add_argument("outdir", type=Path, help="output directory (replaced atomically)")
    ap.add_argument("--branch", default=DEFAULT_BRANCH, help=f"dist-git branch name (default {DEFAULT_BRANCH})")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    ap.add_argument("--only", action="append", metavar="PKG", help="build only this package (repeatable)")
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                    help="directory holding <pkg>/history.toml (default: packages/ next to this script)")
    ap.add_argument("--mirror-config", type=Path, metavar="FILE",
                    help="also write FILE: a trib configuration file reading this upstream by file://")
    args = ap.parse_args(argv)
    if not _BRANCH_RE.match(args.branch) or ".." in args.branch or args.branch.endswith((".lock", "/")):
        ap.error(f"invalid branch name: {args.branch!r}")
    outdir = args.outdir.resolve()
    try:
        summary = publish(outdir, args.source.resolve(), args.branch, args.only)
    except UpstreamError as e:
        print(f"make_upstream: error: {e}", file=sys.stderr)
        return 1
    if args.mirror_config:
        write_mirror_config(args.mirror_config.resolve(), outdir)
    if args.json:
        print(json.dumps({"outdir": str(outdir), **summary}, indent=2))
    else:
        print(_text_summary(summary, outdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
