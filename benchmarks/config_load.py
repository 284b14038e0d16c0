"""Benchmark: load and resolve an Azure-Linux-sized configuration tree against bare tomllib parsing,
in this process and as the ``trib`` command a user runs.

Generates a synthetic tree shaped like Azure Linux 4.0's (about 7,600 components: 7,400 bare
``[components.X]`` tables in one file, 200 ``*.comp.toml`` files with overlays, 350 files in all), then
times, in the same run:

(a) ``tomllib`` parsing every file, in this process;
(b) ``load_project`` plus resolving every component, in this process;
(c) ``trib --version``, a process of its own;
(d) ``trib -O json comp list -a`` on the tree, a process of its own, asked again: its kept answer is
    given after every input is checked (``cli.replay``), as it is for a script that asks in a loop;
(e) a bare ``tomllib`` parse of the same files in a Python process of its own (what (d) is compared to);
(f) the same command with no answer kept, as the first run after an edit is: it runs, and keeps one.

Targets on 2 cores: (b) <= 1 s and <= 3x (a); (c) <= 80 ms; (d) <= 2.5x (e). The processes run with
bytecode caching on (one untimed run first), as an installed tributary does. Each process is also
reported by the CPU time it used (user + system, the lowest of the runs): on a machine shared with
other work that figure moves far less than wall time.

    python benchmarks/config_load.py [--json] [--repeat N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

from _common import Target, machine, report, scratch_dir

from tributary.cli.replay import DISABLE_VARIABLE as DISABLE
from tributary.config import load_project

BARE = 7400
DEDICATED = 200
TOTAL_FILES = 350

OVERLAY_KINDS = [
    '{ type = "spec-search-replace", regex = "^BuildRequires:\\\\s+foo$", replacement = "BuildRequires: bar", '
    'description = "swap foo" }',
    '{ type = "spec-add-tag", tag = "Provides", value = "compat-%s", description = "compat provide" }',
    '{ type = "spec-remove-tag", tag = "BuildRequires", value = "xen-devel", description = "no xen" }',
    '{ type = "spec-append-lines", section = "%%install", lines = ["rm -f %%{buildroot}/x"], description = "prune" }',
    '{ type = "file-add", file = "extra.conf", source = "extra.conf", description = "config" }',
]


def generate(root: Path) -> list[Path]:
    """Write the synthetic tree; return every TOML file in it."""
    (root / "distro").mkdir(parents=True)
    (root / "base/comps").mkdir(parents=True)
    (root / "base/packages").mkdir(parents=True)
    (root / "azldev.toml").write_text('includes = ["distro/distro.toml", "base/project.toml"]\n'
                                      '[project]\ndescription = "synthetic"\n'
                                      'default-distro = { name = "azurelinux", version = "4.0-stage2" }\n')
    (root / "distro/distro.toml").write_text('includes = ["*.distro.toml"]\n')
    (root / "distro/fedora.distro.toml").write_text(
        '[distros.fedora]\ndefault-version = "43"\ndist-git-base-uri = "https://src.invalid/rpms/$pkg.git"\n'
        'lookaside-base-uri = "https://src.invalid/lookaside/$pkg/$filename/$hashtype/$hash/$filename"\n'
        + "".join(
            f'[distros.fedora.versions.{v}]\nrelease-ver = "{v}"\ndist-git-branch = "f{v}"\n' for v in (41, 42, 43, 44)
        )
    )
    (root / "distro/azurelinux.distro.toml").write_text(
        '[distros.azurelinux]\ndefault-version = "4.0-stage2"\n'
        + "".join(
            f'[distros.azurelinux.versions."4.0-{stage}"]\nrelease-ver = "4.0"\n'
            f'[distros.azurelinux.versions."4.0-{stage}".default-component-config.spec]\ntype = "upstream"\n'
            'upstream-distro = { name = "fedora", version = "43", snapshot = "2026-02-24T00:00:00-08:00" }\n'
            for stage in ("stage1", "stage2")
        )
    )
    (root / "base/project.toml").write_text(
        'includes = ["comps/components.toml", "packages/packages.toml"]\n[project]\nwork-dir = "build/work"\n'
    )
    (root / "base/comps/components.toml").write_text(
        'includes = ["**/*.comp.toml", "component-check-disablement.toml"]\n'
        + "".join(f"[components.pkg{i:05d}]\n" for i in range(BARE))
    )
    (root / "base/comps/component-check-disablement.toml").write_text(
        '[component-groups.check-skip]\ndescription = "tests fail"\ncomponents = ['
        + ", ".join(f'"pkg{i:05d}"' for i in range(0, BARE, 40))
        + ']\ndefault-component-config.build.check = { skip = true, skip_reason = "fails in chroot" }\n'
    )
    for i in range(DEDICATED):
        directory = root / "base/comps" / f"custom{i:03d}"
        directory.mkdir()
        (directory / "extra.conf").write_text("x\n")
        overlays = ",\n  ".join(
            OVERLAY_KINDS[(i + k) % len(OVERLAY_KINDS)].replace("%s", str(i)) for k in range(1 + i % 3)
        )
        (directory / f"custom{i:03d}.comp.toml").write_text(
            f"[components.custom{i:03d}]\n"
            + (f'spec = {{ type = "upstream", upstream-commit = "{i:040x}" }}\n' if i % 4 == 0 else "")
            + ('build = { without = ["docs"], defines = { with_va = "0" } }\n' if i % 5 == 0 else "")
            + f"overlays = [\n  {overlays},\n]\n"
        )
    remaining = TOTAL_FILES - len(list(root.rglob("*.toml"))) - 1
    (root / "base/packages/packages.toml").write_text(
        'includes = ["*.packages.toml"]\n[default-package-config.publish]\nchannel = "rpm-sdk"\n'
    )
    for i in range(remaining):
        names = ", ".join(f'"pkg{i:03d}-sub{k}"' for k in range(20))
        (root / f"base/packages/group{i:03d}.packages.toml").write_text(
            f"[package-groups.group{i:03d}]\npackages = [{names}]\n"
            'default-package-config.publish.channel = "rpm-base"\n'
        )
    return sorted(root.rglob("*.toml"))


def bare_parse(files: list[Path]) -> float:
    start = time.perf_counter()
    for path in files:
        tomllib.loads(path.read_text())
    return time.perf_counter() - start


def load_and_resolve(root: Path) -> tuple[float, int]:
    start = time.perf_counter()
    project = load_project(root)
    count = len(project.resolve_all())
    return time.perf_counter() - start, count


# The same parse as bare_parse, in a Python process of its own (files as arguments).
BARE_PROCESS = "import sys, tomllib\nfor name in sys.argv[1:]:\n    tomllib.loads(open(name).read())\n"


def process_seconds(argv: list[str], repeat: int, env: dict[str, str],
                    before: Callable[[], None] = lambda: None) -> tuple[float, float]:
    """The median wall time and the lowest CPU time of ``argv`` run as a process with ``env``, after one
    untimed run that also fills the bytecode cache and keeps the command's answer; ``before`` runs
    (untimed) before each run."""

    def once() -> tuple[float, float]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    before()
    once()
    runs = []
    for _ in range(repeat):
        before()
        runs.append(once())
    return statistics.median(wall for wall, _ in runs), min(cpu for _, cpu in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each measurement (median reported)")
    parser.add_argument("--keep", type=Path, help="write the tree here and keep it")
    args = parser.parse_args()
    trib = str(Path(sys.executable).parent / "trib")
    load_at_start = os.getloadavg()[0]
    with scratch_dir(args.keep, "trib-bench-config-") as root:
        files = generate(root)
        bare = [bare_parse(files) for _ in range(args.repeat)]
        full = [load_and_resolve(root) for _ in range(args.repeat)]
        # Bytecode written (the benchmark's own environment may turn it off); answers kept in the scratch tree.
        env = {key: value for key, value in os.environ.items() if key not in ("PYTHONDONTWRITEBYTECODE", DISABLE)}
        env["XDG_CACHE_HOME"] = str(root / "cache")
        comp_list_argv = [trib, "-C", str(root), "-O", "json", "comp", "list", "-a"]
        version = process_seconds([trib, "--version"], args.repeat, env)
        comp_list = process_seconds(comp_list_argv, args.repeat, env)
        # The first run after an edit: no answer to give, so the command runs, records and keeps one.
        first_run = process_seconds(comp_list_argv, args.repeat, env,
                                    before=lambda: shutil.rmtree(root / "cache", ignore_errors=True))
        bare_process = process_seconds([sys.executable, "-c", BARE_PROCESS, *map(str, files)], args.repeat, env)
    result = {
        "files": len(files),
        "components": full[0][1],
        "bare_parse_s": round(statistics.median(bare), 4),
        "load_resolve_s": round(statistics.median(t for t, _ in full), 4),
    }
    result["ratio"] = round(result["load_resolve_s"] / result["bare_parse_s"], 2)
    result["version_s"] = round(version[0], 4)
    result["comp_list_s"] = round(comp_list[0], 4)
    result["bare_process_s"] = round(bare_process[0], 4)
    result["cli_ratio"] = round(comp_list[0] / bare_process[0], 2)
    result["comp_list_first_run_s"] = round(first_run[0], 4)
    result["first_run_ratio"] = round(first_run[0] / bare_process[0], 2)
    result["version_cpu_s"] = round(version[1], 4)
    result["comp_list_cpu_s"] = round(comp_list[1], 4)
    result["comp_list_first_run_cpu_s"] = round(first_run[1], 4)
    result["bare_process_cpu_s"] = round(bare_process[1], 4)
    result["cli_cpu_ratio"] = round(comp_list[1] / bare_process[1], 2)
    result["python"] = machine()["python"]
    result["loadavg_1m_at_start"] = round(load_at_start, 2)
    targets = [Target("load_resolve_s", 1.0), Target("ratio", 3.0), Target("version_s", 0.08),
               Target("cli_ratio", 2.5)]
    report(result, targets, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
