"""Benchmark: the stage-0 bootstrap repository made from this host, cold and warm.

``ensure_stage0`` into an empty cache directory (cold: plan, stage, rpmbuild of every RPM, consistency
check, signing with a new throwaway key, metadata), then again (warm: the cache is current). Reported:
the cold and warm seconds, the number of RPMs, the repository's size, the size of the host files it
carries, and the load average when it started (the machine is shared). With ``--payload`` a list of
rpm payload settings (``w1.zstdio,w0.ufdio``) is compared, one cold build each. Target: cold well under
a minute on 2 cores, warm under a second.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from _common import Target, machine, report, scratch_dir, tributary_commit

from tributary.build.stage0 import ensure_stage0, rpms

TARGETS = [Target("cold_s", 60.0), Target("warm_s", 1.0)]


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.add_argument("--keep", type=Path, help="work here and keep it (default: a temporary directory)")
    parser.add_argument("--payload", default=rpms.PAYLOAD, help="comma-separated rpm payload settings to compare")
    args = parser.parse_args()
    result: dict[str, object] = {"commit": tributary_commit(), **machine(),
                                 "loadavg_1m_at_start": os.getloadavg()[0]}
    with scratch_dir(args.keep, "trib-bench-stage0-") as scratch:
        for index, payload in enumerate(args.payload.split(",")):
            rpms.PAYLOAD = payload
            cache = scratch / f"cache{index}" / "stage0"
            start = time.monotonic()
            repo = ensure_stage0(cache)
            cold = time.monotonic() - start
            start = time.monotonic()
            ensure_stage0(cache)
            warm = time.monotonic() - start
            suffix = "" if index == 0 else f"_{payload}"
            result.update({f"payload{suffix}": payload, f"cold_s{suffix}": round(cold, 1),
                           f"warm_s{suffix}": round(warm, 2), f"rpms{suffix}": len(repo.packages),
                           f"repo_mb{suffix}": round(_size(repo.path) / 1e6, 1)})
    report(result, TARGETS, as_json=args.json)


if __name__ == "__main__":
    main()
