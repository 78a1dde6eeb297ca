"""Time the local STAC API: start, catalog load, a search, stop (five rounds).

Each round also reads two byte ranges of 500 of the demo's COGs over one keep-alive
connection, as GDAL reads a COG (its header, then the tiles: the first 4 KiB, then the
rest): the time per range request, and the file server's CPU time per request.

Prints a JSON line with the median of each step.

Usage: python benchmarks/bench_server.py [--smoke]   (--smoke: one round, 50 files)
"""

import argparse
import json
import os
import statistics
import tempfile
import time

import psutil
import requests

from cropkit.demo import build_demo
from cropkit.server import LocalStacServer
from cropkit.server.asgi import FILES_PREFIX


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) the process has used."""
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--smoke", action="store_true", help="one round, 50 files (tests)")
args = parser.parse_args()
rounds, files = (1, 50) if args.smoke else (5, 500)
with tempfile.TemporaryDirectory() as cache:
    os.environ["CROPKIT_CACHE_DIR"] = cache
    demo = build_demo("chartres", 2023, "ci", zone_px=64)
    steps = {"start": [], "load": [], "search": [], "stop": []}
    per_range = {"range_request_ms": [], "range_server_cpu_ms": []}
    cogs = [p for p in sorted(demo.root.rglob("*.tif")) if p.stat().st_size > 8192][:files]
    mean_kib = sum(p.stat().st_size for p in cogs) / len(cogs) / 1024
    for _ in range(rounds):
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
        with requests.Session() as session:
            urls = [f"{server.url}{FILES_PREFIX}/{p.relative_to(server.files_root)}" for p in cogs]
            cpu0, t0 = server_cpu(server.process.pid), time.perf_counter()
            for url in urls:
                for span in ("0-4095", "4096-"):
                    reply = session.get(url, headers={"Range": f"bytes={span}"}, timeout=10)
                    reply.raise_for_status()
            elapsed = time.perf_counter() - t0
            per_range["range_request_ms"].append(1e3 * elapsed / (2 * len(urls)))
            cpu = server_cpu(server.process.pid) - cpu0
            per_range["range_server_cpu_ms"].append(1e3 * cpu / (2 * len(urls)))
        server.stop()
        steps["stop"].append(server.timings["stop_s"])
    print(
        json.dumps(
            {f"{k}_s": round(statistics.median(v), 3) for k, v in steps.items()}
            | {k: round(statistics.median(v), 3) for k, v in per_range.items()}
            | {"items": sum(demo.info()["items"].values()), "mean_cog_kib": round(mean_kib, 1)}
            | {"rounds": rounds, "files": len(cogs)}
        )
    )
