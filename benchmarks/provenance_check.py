"""Benchmark: checking one component's signed provenance against a published public key.

``trib site`` checks every built component's provenance when it writes the site; ``trib verify --key``
checks one. Each check is a gpg process; with the key given as a file, gpg first imports it into a
throw-away key ring (and gpgconf stops that ring's agent afterwards). Measured, per check, over N
envelopes signed by a throw-away ed25519 key (one subject each, present):

1. ``verify(path, public_key=FILE)``: the key imported for every check (``trib verify --key``);
2. ``verify(path, key_ring=RING)``: the key imported once (``public_key_ring``), as the site does.

The site's share of 7,600 built components follows as N x per-check time, split over its processes.

    python benchmarks/provenance_check.py [--json] [--envelopes N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from _common import machine, report, scratch_dir, tributary_commit

from tributary.repo.sign import make_throwaway_key
from tributary.sbom.provenance import PREDICATE_TYPE, STATEMENT_TYPE, envelope, public_key_ring, verify
from tributary.upstream.fingerprint import file_sha256

AZURE_COMPONENTS = 7600


def per_check_ms(paths: list[Path], check) -> float:
    start = time.perf_counter()
    for path in paths:
        check(path)
    return (time.perf_counter() - start) / len(paths) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--envelopes", type=int, default=50, help="envelopes to check each way (default %(default)s)")
    args = parser.parse_args()
    load_average = os.getloadavg()[0]
    with scratch_dir(None, "trib-bench-provenance-") as root:
        # gpg-agent's socket lives in the key ring: keep its path short.
        key = make_throwaway_key(root / "g", "Bench Signing", "bench@tribex.invalid")
        try:
            paths = []
            for n in range(args.envelopes):
                directory = root / f"c{n}"
                (directory / "sbom").mkdir(parents=True)
                rpm = directory / f"c{n}-1.0-1.noarch.rpm"
                rpm.write_bytes(f"package {n}".encode())
                statement = {"_type": STATEMENT_TYPE, "predicateType": PREDICATE_TYPE, "predicate": {},
                             "subject": [{"name": rpm.name, "digest": {"sha256": file_sha256(rpm)}}]}
                path = directory / "sbom" / f"c{n}.provenance.json"
                path.write_bytes(envelope(statement, key=key, when=1_800_000_000))
                paths.append(path)
            public = root / "RPM-GPG-KEY-bench"
            public.write_bytes(key.public_key())
            each_ms = per_check_ms(paths, lambda path: verify(path, public_key=public))
            with public_key_ring(public) as ring:
                ring_ms = per_check_ms(paths, lambda path: verify(path, key_ring=ring))
        finally:
            key.stop_agent()
    result = {
        "envelopes": args.envelopes,
        "import_each_time_ms": round(each_ms, 1),
        "one_key_ring_ms": round(ring_ms, 1),
        "speedup": round(each_ms / ring_ms, 1),
        f"site_cpu_s_for_{AZURE_COMPONENTS}_import_each_time": round(each_ms * AZURE_COMPONENTS / 1000),
        f"site_cpu_s_for_{AZURE_COMPONENTS}_one_key_ring": round(ring_ms * AZURE_COMPONENTS / 1000),
        "tributary_commit": tributary_commit(),
        **machine(),
        "loadavg_1m_at_start": round(load_average, 2),
    }
    report(result, [], as_json=args.json,
           notes=["wall time per check in one process; the site divides the checks among its -j processes"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
