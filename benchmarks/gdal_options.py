"""GDAL's options for reading over HTTP, and reading threads beyond the cores, on cropkit's path.

Each setting runs ``bench_pipeline.py``'s ``cropkit`` part (items to the composite's Zarr
store, as notebook 03 makes it) in a fresh process, ``--repeat`` times, the settings
interleaved so that a slow moment of the machine falls on all of them; GDAL reads its
configuration options from the process's environment. Prints, per setting, the seconds
of each repeat, their mean, and the requests and bytes the file server sent. The last
line is JSON.

Usage: python benchmarks/gdal_options.py [--region chartres] [--profile ci] [--repeat 3]
       python benchmarks/gdal_options.py --smoke   # a small area, two settings, once
"""

import argparse
import json
import statistics
import tempfile
import warnings
from pathlib import Path

from _demo import SMOKE_LOAD
from bench_pipeline import THREADS_USED, in_fresh_process

from cropkit.config import RunConfig
from cropkit.endpoint import connect, shared_api

#: ``(name, environment, reading threads)``; threads 0: one per core (cropkit's default).
SETTINGS = (
    ("defaults", {}, 0),
    # the whole of a small file in the first read: no second request for its tiles
    ("header 64 KiB", {"GDAL_INGESTED_BYTES_AT_OPEN": "65536"}, 0),
    # no HEAD: the size from the first GET (GDAL then asks for the whole file)
    ("no HEAD", {"CPL_VSIL_CURL_USE_HEAD": "NO"}, 0),
    ("only .tif", {"CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif"}, 0),
    ("HTTP/2 multiplexing", {"GDAL_HTTP_VERSION": "2", "GDAL_HTTP_MULTIPLEX": "YES"}, 0),
    ("threads x2", {}, 2 * THREADS_USED),
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", default="chartres")
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="a small area, two settings, once")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    area = SMOKE_LOAD if args.smoke else {"region": args.region, "profile": args.profile}
    settings = SETTINGS[:2] if args.smoke else SETTINGS
    repeat = 1 if args.smoke else args.repeat
    rows = {name: {"seconds": []} for name, _, _ in settings}
    with tempfile.TemporaryDirectory() as tmp:
        args.report = f"{tmp}/unused.html"  # the cropkit part writes none
        cfg = RunConfig(year=2023, run_root=tmp, **area)
        with shared_api(cfg):
            url = connect(cfg).url
            for i in range(repeat):
                for k, (name, env, threads) in enumerate(settings):
                    out = Path(tmp) / f"run-{i}-{k}"
                    run = in_fresh_process("cropkit", args, out, url, env=env, threads=threads)
                    rows[name]["seconds"].append(round(run["seconds"], 2))
                    rows[name].update(requests=run["requests"], mb=round(run["bytes"] / 1e6, 1))
    for name, row in rows.items():
        row["mean_s"] = round(statistics.mean(row["seconds"]), 2)
        print(f"{name:22s} {row['mean_s']:6.2f} s  {row['requests']:6d} requests  {row['mb']} MB")
    print(json.dumps({"region": cfg.region, "smoke": args.smoke, "repeat": repeat, **rows}))


if __name__ == "__main__":  # dask starts worker processes: guard the entry point
    main()
