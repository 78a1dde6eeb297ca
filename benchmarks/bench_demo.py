"""Time the demo build: the CI profile (two 256 x 256 zones) and one 256 x 256 zone.

Prints one JSON line per case with the seconds per stage. The goal of the foundation
issue: one 256 x 256 zone, one year, in under 60 s on a 2-core machine.
"""

import json
import os
import tempfile
import time

from cropkit.demo import build_demo

cases = [
    ("one-zone-256", dict(region="auch", zone_px=256, zones=(1, 1))),
    ("ci-profile", dict(region="chartres")),
]
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
