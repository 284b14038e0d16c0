"""Benchmark: what a release costs after the packages are built, on the example distribution.

The example (examples/distro, its upstream made by examples/upstream/make_upstream.py) is built and
published once, unsigned; then, ``--repeat`` times, every step a release runs on it through the
``trib`` command line, each timed as a user would see it (Python start-up included):

* ``image build`` of each example image (vm-base as raw, qcow2 and fixed VHD) and ``image test`` of
  each (for vm-base: qemu-img reads of the three files and three boots under TCG with Debian's cloud
  kernel, ``--kernel`` or TRIB_TEST_KERNEL, by default .cache/test-kernel/current);
* ``audit rpms -a`` and ``audit image`` of each image;
* ``sbom -a`` (every component's SPDX, CycloneDX and provenance, written again).

Reported: the median seconds of each step, ``loop_s`` (their sum: the whole release loop) and the
median boot of one VM disk as ``image test`` reports it. The target: the loop fits in a minute on
two cores, so it can run on every change.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
from pathlib import Path
from typing import Any

from _common import (
    REPO,
    Target,
    example_distro,
    machine,
    report,
    scratch_dir,
    trib_json,
    tributary_commit,
)

IMAGES = {"container-base": (), "container-distroless": (), "wsl": (),
          "vm-base": ("--format", "raw", "--format", "qcow2", "--format", "vhd-fixed")}
TARGET_LOOP_S = 60.0


def one_loop(example, kernel: Path) -> dict[str, float]:
    seconds: dict[str, float] = {}
    boots: list[float] = []
    for name, formats in IMAGES.items():
        seconds[f"build {name}"], _ = trib_json(*example.args("-O", "json", "image", "build", name, *formats))
        seconds[f"test {name}"], checks = trib_json(
            *example.args("-O", "json", "image", "test", name, "--kernel", str(kernel))
        )
        if not all(check["ok"] for check in checks):
            raise SystemExit(f"image test {name} failed: {checks}")
        boots += [float(match.group(1)) for check in checks
                  if (match := re.search(r"powered off in ([0-9.]+) s", check["detail"]))]
    seconds["audit rpms"], _ = trib_json(*example.args("-O", "json", "audit", "rpms", "-a"))
    for name in IMAGES:
        seconds[f"audit {name}"], _ = trib_json(*example.args("-O", "json", "audit", "image", name))
    seconds["sbom -a"], _ = trib_json(*example.args("-O", "json", "sbom", "-a"))
    seconds["boot"] = statistics.median(boots)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeat", type=int, default=3, help="loops measured, medians reported (default %(default)s)")
    parser.add_argument(
        "--kernel",
        type=Path,
        default=Path(os.environ.get("TRIB_TEST_KERNEL") or REPO / ".cache/test-kernel/current"),
        help="unpacked kernel package for the VM boots (default: TRIB_TEST_KERNEL or make setup's)",
    )
    parser.add_argument("--keep", type=Path, help="write the tree here and keep it")
    args = parser.parse_args()
    commit = tributary_commit()
    load_average = os.getloadavg()[0]
    with scratch_dir(args.keep, "trib-bench-release-") as root:
        example = example_distro(root)
        trib_json(*example.args("-O", "json", "build", "-a", "-j", "2"))
        trib_json(*example.args("-O", "json", "repo", "publish", "--unsigned"))
        loops = [one_loop(example, args.kernel) for _ in range(max(1, args.repeat))]
    steps = {key: round(statistics.median(loop[key] for loop in loops), 2) for key in loops[0] if key != "boot"}
    result: dict[str, Any] = {
        "loop_s": round(sum(steps.values()), 2),
        "image_builds_s": round(sum(v for k, v in steps.items() if k.startswith("build ")), 2),
        "image_tests_s": round(sum(v for k, v in steps.items() if k.startswith("test ")), 2),
        "audits_s": round(sum(v for k, v in steps.items() if k.startswith("audit ")), 2),
        "sbom_s": steps["sbom -a"],
        "vm_boot_s": round(statistics.median(loop["boot"] for loop in loops), 2),
        "steps_s": steps,
        "loops": [round(sum(v for k, v in loop.items() if k != "boot"), 2) for loop in loops],
        "tributary_commit": commit,
        **machine(),
        "loadavg_1m_at_start": round(load_average, 2),
    }
    report(result, [Target("loop_s", TARGET_LOOP_S)], as_json=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
