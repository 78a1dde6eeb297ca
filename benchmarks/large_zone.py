"""Composite a large demo zone (2048 x 2048 pixels, one year) on workers limited in memory.

The cube (about 73 dates x 10 bands x 2048 x 2048 float32, 12 GB) does not fit in the
workers' memory; cropkit composites it spatial chunk by spatial chunk. Prints the time,
the peak memory of each worker and the size of the cube.

Usage: python benchmarks/large_zone.py [--memory-limit 3GiB] [--workers 2] [--threads]
       python benchmarks/large_zone.py --smoke   (a small area of the ci demo, one worker)
"""

import argparse
import json
import tempfile
import time

from _demo import SMOKE_LOAD
from distributed.diagnostics import MemorySampler

from cropkit import cloudmask, composite, gapfill
from cropkit.access.load import load_s2, load_scl
from cropkit.config import RunConfig
from cropkit.core.cluster import THREADS, dask_client
from cropkit.core.store import write_zarr
from cropkit.endpoint import connect


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--memory-limit", default="3GiB")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--region", default="auch")
    parser.add_argument(
        "--threads", action="store_true", help='one worker in this process (dask_client("threads"))'
    )
    parser.add_argument("--smoke", action="store_true", help="a small area of the ci demo")
    args = parser.parse_args()

    area = {"region": args.region, "profile": "large"}
    if args.smoke:
        area = SMOKE_LOAD
        args.workers, args.memory_limit = 1, "2GiB"
    cfg = RunConfig(year=2023, max_cloud=100, **area)
    source = connect(cfg)
    items = source.search("s2", cfg.bbox, cfg.growing_season, max_cloud=100)
    cube = load_s2(items, source.provider, cfg.grid, chunks=512)
    clear = cloudmask.clear_mask(
        load_scl(items, source.provider, cfg.grid, chunks=512), buffer_px=1
    )
    # masked as each period is gathered, as notebook 03 composites
    result = gapfill.fill_gaps(
        composite.period_median(cube, "month", cfg.growing_season, clear=clear)
    )
    size_gb = cube.size * 4 / 1e9

    client = dask_client(
        THREADS if args.threads else None, n_workers=args.workers, memory_limit=args.memory_limit
    )
    sampler = MemorySampler()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, sampler.sample("composite"):
        write_zarr(result, f"{tmp}/s2_composite.zarr")
    seconds = time.perf_counter() - t0
    frame = sampler.to_pandas()
    client.close()
    print(
        json.dumps(
            {
                "shape": dict(cube.sizes),
                "cube_gb": round(size_gb, 1),
                "workers": args.workers,
                "threads_in_process": args.threads,
                "smoke": args.smoke,
                "memory_limit": args.memory_limit,
                "seconds": round(seconds, 1),
                "peak_cluster_memory_gb": round(float(frame["composite"].max()) / 1e9, 2),
            }
        )
    )


if __name__ == "__main__":  # dask starts worker processes: guard the entry point
    main()
