"""Time the demo build: the CI profile (two 256 x 256 zones) and one 256 x 256 zone.

Prints one JSON line per case with the seconds per stage. The goal of the foundation
issue: one 256 x 256 zone, one year, in under 60 s on a 2-core machine.

Usage: python benchmarks/bench_demo.py [--smoke]   (--smoke: one 64 x 64 zone, for the tests)
"""

import argparse
import json
import os
import tempfile
import time

from cropkit.demo import build_demo

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--smoke", action="store_true", help="one 64 x 64 zone (tests)")
args = parser.parse_args()
cases = [
    ("one-zone-256", dict(region="auch", zone_px=256, zones=(1, 1))),
    ("ci-profile", dict(region="chartres")),
]
if args.smoke:
    cases = [("one-zone-64", dict(region="auch", zone_px=64, zones=(1, 1), enmap_scenes=1))]
with tempfile.TemporaryDirectory() as cache:
    os.environ["CROPKIT_CACHE_DIR"] = cache
    for name, kw in cases:
        t0 = time.perf_counter()
        demo = build_demo(year=2023, profile="ci", **kw)
        info = demo.info()
        print(
            json.dumps(
                {
                    "case": name,
                    "seconds": round(time.perf_counter() - t0, 2),
                    "items": info["items"],
                    "shape": info["shape"],
                    "stages": info["timings"],
                    "cpus": os.cpu_count(),
                }
            )
        )
