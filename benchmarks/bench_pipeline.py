"""Sentinel-2 items to gap-filled monthly composites, end to end, beside two references.

One run, the same items (a demo region's season from the local STAC API):

* **floor**: every file the composite needs (ten bands and the SCL of each item) decoded
  once with rasterio from the local disk, two threads: what no pipeline can beat;
* **cropkit**: items to the masked cube, monthly medians, gap filling and the Zarr store
  in a run folder, as notebook 03 runs it (its default ``scheduler="threads"``: one dask
  worker in this process); then again on a local cluster of worker processes
  (``scheduler=""``); then once more with a dask performance report (timed apart: the
  report's profiler slows the run it watches);
* **peers**: the usual pipeline of the peers' tutorials: ``stackstac.stack`` with its
  defaults (one chunk per file; bilinear resampling of the 20 m bands, as cropkit), the
  SCL mask, ``groupby("time.month").median()``, no gap filling, on dask's threaded
  scheduler.

It checks that cropkit's medians (before gap filling, with the peers' mask) equal the
peers' on every month both have, on the pixels where the methods agree (cropkit leaves
out an observation with a band missing, at a swath edge; the peers keep its other
bands), and reports the bytes the local file server sent per output pixel (what a
remote archive bills). The last line is JSON.

Usage: python benchmarks/bench_pipeline.py [--region chartres] [--profile ci]
       [--report pipeline-report.html]
       python benchmarks/bench_pipeline.py --smoke   # a small area of the ci demo (tests)
"""

import argparse
import contextlib
import json
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dask
import numpy as np
import rasterio
import requests
import stackstac
from _demo import SMOKE_AREA
from distributed import performance_report

from cropkit import composite, gapfill
from cropkit.access.load import S2_BAND_NAMES, by_time
from cropkit.config import RunConfig
from cropkit.core.cluster import THREADS, dask_client
from cropkit.core.run import RunFolder
from cropkit.endpoint import connect
from cropkit.server import demo_api
from cropkit.server.asgi import SERVED_PATH
from cropkit.stages import composites, masking

KEEP = [4, 5, 6, 7]


def served(url: str) -> dict:
    return requests.get(url + SERVED_PATH, timeout=10).json()


def floor(paths: list[Path]) -> float:
    """Seconds to decode every file once, two threads."""

    def decode(path):
        with rasterio.open(path) as src:
            return src.read(1).nbytes

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        sum(pool.map(decode, paths))
    return time.perf_counter() - t0


def peers(items, provider, grid) -> tuple:
    """The tutorials' pipeline: stackstac defaults, SCL mask, groupby month median."""
    keys = [provider.asset_key("s2", b) for b in S2_BAND_NAMES]
    scl_key = provider.asset_key("s2", "SCL")
    common = dict(epsg=grid.epsg, resolution=10, bounds=grid.bounds, xy_coords="center")
    t0 = time.perf_counter()
    # its defaults (float64, rescaled from raster:bands), bilinear for the 20 m bands as cropkit
    bilinear = rasterio.enums.Resampling.bilinear
    cube = stackstac.stack(items, assets=keys, resampling=bilinear, **common)
    scl = stackstac.stack(
        items,
        assets=[scl_key],
        dtype="uint8",
        fill_value=np.uint8(0),
        rescale=False,
        resampling=rasterio.enums.Resampling.nearest,
        **common,
    ).isel(band=0)
    masked = cube.where(scl.isin(KEEP))
    tasks = len(masked.data.__dask_graph__())
    with dask.config.set(scheduler="threads"):
        medians = masked.groupby("time.month").median().compute()
    return medians, time.perf_counter() - t0, tasks


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--region", default="chartres")
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--report", default="pipeline-report.html")
    parser.add_argument("--smoke", action="store_true", help="a small area of the ci demo")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # skipped-item notes; the counts are reported below
    area = {"region": args.region, "profile": args.profile}
    if args.smoke:
        area = SMOKE_AREA

    with tempfile.TemporaryDirectory() as tmp:
        if args.smoke:
            args.report = f"{tmp}/pipeline-report.html"
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        cfg = RunConfig(year=2023, run_root=tmp, **area)
        source = connect(cfg)
        server = demo_api()
        items = by_time(source.search("s2", cfg.bbox, cfg.year, max_cloud=cfg.max_cloud))
        keys = [source.provider.asset_key("s2", b) for b in (*S2_BAND_NAMES, "SCL")]
        paths = [
            server.files_root / it.assets[k].href.split("/files/", 1)[1]
            for it in items
            for k in keys
        ]
        pixels = cfg.grid.shape[0] * cfg.grid.shape[1]
        t_floor = floor(paths)

        def cropkit_path(scheduler: str, folder: str, report: str | None = None):
            """Items to the composite's Zarr store as notebook 03 makes it.

            Returns the seconds, the task count of the gap-filled composite's graph and
            the composite.
            """
            run_cfg = RunConfig(year=2023, run_root=f"{tmp}/{folder}", **area)
            client = dask_client(scheduler or None)
            t0 = time.perf_counter()
            with performance_report(filename=report) if report else contextlib.nullcontext():
                s2 = masking.masked_s2(source, items, cfg.grid, KEEP, buffer_px=1)
                comp = composites.s2_composite(s2, RunFolder.for_config(run_cfg), run_cfg)
                seconds = time.perf_counter() - t0  # not the report's own rendering, after
            client.close()
            graph = gapfill.fill_gaps(
                composite.period_median(s2.reflectance, "month", cfg.growing_season, s2.clear)
            )
            return seconds, len(graph["median"].data.__dask_graph__()), comp

        # cropkit with notebook 03's default scheduler ("threads": one worker in this
        # process), then on a local cluster of worker processes (scheduler=""); both
        # timed without the performance report, which is made by a third run
        before = served(server.url)
        t_cropkit, tasks, comp = cropkit_path(THREADS, "threads")
        after = served(server.url)
        t_processes, _, _ = cropkit_path("", "processes")
        t_report, _, _ = cropkit_path(THREADS, "report", args.report)

        # the peers' pipeline, and cropkit's medians with their mask (no buffer, no filling)
        before_peers = served(server.url)
        theirs, t_peers, peer_tasks = peers(items, source.provider, cfg.grid)
        after_peers = served(server.url)
        with dask.config.set(scheduler="threads"):
            same_mask = masking.masked_s2(source, items, cfg.grid, KEEP, buffer_px=0)
            ours = composite.period_median(same_mask.masked, "month", cfg.growing_season)
            finite = same_mask.reflectance.notnull()
            partial = (finite.any("band") & ~finite.all("band")).any("time")
            ours, partial = dask.compute(ours["median"], partial)
        # cropkit leaves out partial observations (a band missing at a swath edge), the
        # peers keep them: the methods agree on the pixels that never had one
        months = theirs["month"].values
        agree = ~partial.values
        mine = ours.values[months - 1][..., agree]
        other = theirs.transpose("month", "band", "y", "x").values[..., agree]
        both = np.isfinite(mine) & np.isfinite(other)
        same = bool(np.array_equal(np.isfinite(mine), np.isfinite(other)))
        same = same and bool(np.allclose(mine[both], other[both], rtol=0, atol=1e-6))

    result = {
        "region": cfg.region,
        "profile": cfg.profile,
        "smoke": args.smoke,
        "items": len(items),
        "files": len(paths),
        "grid": list(cfg.grid.shape),
        "floor_s": round(t_floor, 2),
        "cropkit_s": round(t_cropkit, 2),
        "cropkit_over_floor": round(t_cropkit / t_floor, 1),
        "cropkit_tasks": tasks,
        "cropkit_processes_s": round(t_processes, 2),
        "cropkit_processes_over_floor": round(t_processes / t_floor, 1),
        "cropkit_with_report_s": round(t_report, 2),
        "peers_s": round(t_peers, 2),
        "peers_over_floor": round(t_peers / t_floor, 1),
        "peers_tasks": peer_tasks,
        "same_medians": same,
        "months_compared": int(len(months)),
        "pixels_compared": int(agree.sum()),
        "pixels_with_partial_observations": int(partial.values.sum()),
        "cropkit_bytes_per_pixel": round((after["bytes"] - before["bytes"]) / pixels, 1),
        "cropkit_requests": after["requests"] - before["requests"],
        "peers_bytes_per_pixel": round((after_peers["bytes"] - before_peers["bytes"]) / pixels, 1),
        "peers_requests": after_peers["requests"] - before_peers["requests"],
        "composite_periods": int(comp.sizes["period"]),
        "report": None if args.smoke else args.report,
    }
    print(json.dumps(result))


if __name__ == "__main__":  # dask starts worker processes: guard the entry point
    main()
