"""Time the local STAC API: start, catalog load, a search, stop (five rounds).

Prints a JSON line with the median of each step.
"""

import json
import os
import statistics
import tempfile
import time

import requests

from cropkit.demo import build_demo
from cropkit.server import LocalStacServer

with tempfile.TemporaryDirectory() as cache:
    os.environ["CROPKIT_CACHE_DIR"] = cache
    demo = build_demo("chartres", 2023, "ci", zone_px=64)
    steps = {"start": [], "load": [], "search": [], "stop": []}
    for _ in range(5):
        server = LocalStacServer().start()
        steps["start"].append(server.timings["start_s"])
        t0 = time.perf_counter()
        server.add_catalog(demo)
        steps["load"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        requests.post(
            f"{server.url}/search",
            json={
                "collections": ["sentinel-2-c1-l2a"],
                "query": {"eo:cloud_cover": {"lt": 20}},
                "limit": 200,
            },
            timeout=30,
        ).raise_for_status()
        steps["search"].append(time.perf_counter() - t0)
        server.stop()
        steps["stop"].append(server.timings["stop_s"])
    print(
        json.dumps(
            {f"{k}_s": round(statistics.median(v), 3) for k, v in steps.items()}
            | {"items": sum(demo.info()["items"].values())}
        )
    )
