"""Benchmark: what buildroots cost: a cold root, a warm build's overhead, the whole example before and after.

All in one run, on a copy of examples/distro reading an Example Upstream made in the scratch directory,
with a fresh ``TRIB_CACHE_DIR`` (the stage-0 repository is made first and reported on its own):

1. ``stage0_s``: this host's stage-0 repository, cold (see benchmarks/stage0.py for more);
2. ``cold_base_root_s``: the base root tribex-rpm-config builds in (the example's package set from
   stage 0), made by dnf into an empty root cache; ``base_root_mb`` its size, ``base_root_files`` its
   files;
3. ``warm_overhead_s``: with every root cached, the median over ``--repeat`` builds of one component
   (``build_component``, its roots' plan as ``trib build`` makes it) of (the build's wall time) minus
   (the time its two rpmbuild steps ran in the sandbox): preparing sources, root lookups, sandbox
   start-up, reading the SRPM header, copying outputs;
   ``warm_build_s`` the whole build and ``rpmbuild_s`` the rpmbuild part, for reference;
4. ``mock_root_cache_unpack_s``: what mock's root cache does per build instead (its documentation:
   the base buildroot kept as a pigz-compressed tar, unpacked for every build): the same base root
   packed with ``tar -I pigz`` (gzip where pigz is missing) and timed unpacking into an empty directory;
5. ``example_cold_s``: the whole example bootstrapped as ``make demo`` does (stage 1, then stage 2) from
   an empty root cache (stage 0 cached), ``example_warm_s`` the same again with ``--force`` and every
   root cached; ``example_before_s``: the previous build design (host toolchain, ``/deps``), measured
   on commit ``--before`` (default fc1b5b1) checked out in the scratch directory, building its own
   example with ``build -a -j 2`` from clean.

Target (issue 12): ``warm_overhead_s <= 1.5``.

    python benchmarks/buildroot.py [--json] [--repeat N] [--keep DIR] [--component NAME] [--before REV]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import REPO, Target, example_distro, machine, report, scratch_dir, timed, tributary_commit

from tributary.build import sandbox
from tributary.build.buildroot.choose import cache_root
from tributary.build.buildroot.roots import RootCache
from tributary.build.cache import BuildCache
from tributary.build.component import BuildOutputs, build_component
from tributary.build.distro import Stage0Url, build_distribution, plan, root_plan
from tributary.build.scheduler import State
from tributary.config import load_project


def directory_size(path: Path) -> tuple[float, int]:
    total, files = 0, 0
    for entry in path.rglob("*"):
        if entry.is_file() and not entry.is_symlink():
            total += entry.stat().st_size
            files += 1
    return total / 1e6, files


def bootstrap(distro, *, force: bool = False) -> float:
    start = time.perf_counter()
    for extra in ([distro.root / "stage1.toml"], []):
        project = load_project(distro.root, extra_files=[distro.mirror, *extra])
        _, jobs = build_distribution(project, project.component_names, jobs=2, force=force)
        failed = {name: job.error for name, job in jobs.items() if job.state == State.FAILED}
        if failed:
            raise SystemExit(f"the example did not build: {failed}")
    return time.perf_counter() - start


def measure_before(root: Path, revision: str) -> float:
    """The example's clean ``build -a -j 2`` with the build code of ``revision`` (its own example)."""
    old = root / "before"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(old), revision], check=True)
    try:
        upstream = root / "before-upstream"
        subprocess.run([sys.executable, str(old / "examples/upstream/make_upstream.py"), str(upstream)], check=True,
                       capture_output=True)
        project = root / "before-project"
        shutil.copytree(old / "examples/distro", project, ignore=shutil.ignore_patterns("out", "build", "specs"))
        mirror = root / "before-mirror.toml"
        mirror.write_text(f'[distros.example-upstream]\ndist-git-base-uri = "file://{upstream}/git/$pkg.git"\n'
                          f'lookaside-base-uri = "file://{upstream}/lookaside/$pkg/$filename/$hashtype/$hash/$filename"\n')
        env = {**os.environ, "PYTHONPATH": str(old / "src")}
        command = [sys.executable, "-m", "tributary.cli.app", "-C", str(project), "--config-file", str(mirror), "-q",
                   "build", "-a", "-j", "2"]
        seconds, proc = timed(lambda: subprocess.run(command, env=env, capture_output=True, text=True))
        if proc.returncode != 0:
            raise SystemExit(f"the build at {revision} failed:\n{proc.stderr[-2000:]}")
        return seconds
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)], check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeat", type=int, default=5, help="forced warm builds (median reported)")
    parser.add_argument("--keep", type=Path, help="write the trees here and keep them")
    parser.add_argument("--component", default="greet", help="the component whose warm overhead is measured")
    parser.add_argument("--before", default="fc1b5b1", help="the commit of the previous build design")
    parser.add_argument("--no-before", action="store_true", help="skip the previous design's build")
    args = parser.parse_args()
    result: dict = {"commit": tributary_commit(), **machine()}
    with scratch_dir(args.keep, "bench-buildroot-") as root:
        os.environ["TRIB_CACHE_DIR"] = str(root / "cache")
        distro = example_distro(root)
        stage1 = load_project(distro.root, extra_files=[distro.mirror, distro.root / "stage1.toml"])
        result["stage0_s"] = round(timed(lambda: Stage0Url(stage1)())[0], 2)

        build_plan = plan(stage1, stage1.component_names)
        roots = RootCache(cache_root(stage1) / "roots")
        recipes = root_plan(build_plan, "tribex-rpm-config", {}, roots, cache_root(stage1) / "produced",
                            stage1.output_dir / "rpms")
        with open(os.devnull, "wb") as devnull:
            seconds, base = timed(lambda: recipes.base_root(devnull, "benchmark"))
        result["cold_base_root_s"] = round(seconds, 2)
        result["base_root_mb"], result["base_root_files"] = (round(v, 1) if isinstance(v, float) else v
                                                             for v in directory_size(base.path))

        result["example_cold_s"] = round(bootstrap(distro), 2)
        project = load_project(distro.root, extra_files=[distro.mirror])
        record = BuildCache(project).buildroot(args.component) or {}

        rpmbuild_seconds: list[float] = []
        original = sandbox.Sandbox.run

        def timed_run(self, argv, log, *, timeout=None):  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            try:
                return original(self, argv, log, timeout=timeout)
            finally:
                rpmbuild_seconds.append(time.perf_counter() - start)

        sandbox.Sandbox.run = timed_run  # type: ignore[method-assign]
        overheads, walls, inner = [], [], []
        build_plan = plan(project, project.component_names)
        cache = BuildCache(project)
        results = {name: cache.recorded(name) or [] for name in project.component_names}
        recipes = root_plan(build_plan, args.component, results, RootCache(cache_root(project) / "roots"),
                            cache_root(project) / "produced", project.output_dir / "rpms")
        component = project.resolve(args.component)
        dest = BuildOutputs(root / "warm" / "srpms", root / "warm" / "rpms")
        try:
            for _ in range(max(1, args.repeat)):
                rpmbuild_seconds.clear()
                seconds, _ = timed(lambda: build_component(project, component, recipes, dest=dest))
                walls.append(seconds)
                inner.append(sum(rpmbuild_seconds))
                overheads.append(seconds - sum(rpmbuild_seconds))
        finally:
            sandbox.Sandbox.run = original  # type: ignore[method-assign]
        result["warm_build_s"] = round(statistics.median(walls), 2)
        result["rpmbuild_s"] = round(statistics.median(inner), 2)
        result["warm_overhead_s"] = round(statistics.median(overheads), 2)

        tarball = root / "root-cache.tar.gz"
        compressor = "pigz" if shutil.which("pigz") else "gzip"
        subprocess.run(["tar", "-I", compressor, "-cf", str(tarball), "-C", str(base.path), "."], check=True)
        unpack = root / "unpacked"
        unpack.mkdir()
        result["mock_root_cache_unpack_s"] = round(timed(lambda: subprocess.run(
            ["tar", "-I", compressor, "-xf", str(tarball), "-C", str(unpack)], check=True))[0], 2)
        result["mock_root_cache_compressor"] = compressor
        shutil.rmtree(unpack)

        result["example_warm_s"] = round(bootstrap(distro, force=True), 2)
        result["buildroot_packages"] = len(record.get("installed", []))
        if not args.no_before:
            result["example_before_s"] = round(measure_before(root, args.before), 2)
    report(result, [Target("warm_overhead_s", 1.5)], as_json=args.json,
           notes=["example_*_s: stage 1 then stage 2 with -j 2; example_before_s: one build with the host toolchain"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
