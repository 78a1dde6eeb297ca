"""Sentinel-2 items to gap-filled monthly composites, end to end, beside two floors and two peers.

The same items (a demo region's season from the local STAC API), each measurement in a
fresh Python process of its own (no GDAL cache, no warm imports carried from one to the
next), one after the other against one server:

* **disk floor**: every file the composite needs (ten bands and the SCL of each item)
  decoded once with rasterio from the local disk, as many threads as cropkit reads with;
* **HTTP floor**: the windows of those files that cropkit reads (the grid at 10 m, the
  20 m bands and SCL at 20 m with the margin of one pixel that the doubling needs),
  fetched over HTTP by byte ranges (one request for the header, one per run of tiles)
  and decoded by tifffile, as many requests in flight as cropkit's threads: what a
  perfect reader would take over this server (``_http_floor.py``);
* **cropkit**: items to the masked cube, monthly medians, gap filling and the Zarr store
  in a run folder, as notebook 03 runs it (its default ``scheduler="threads"``: one dask
  worker in the process); then on a local cluster of worker processes (``scheduler=""``);
  then once more with a dask performance report and the task stream (timed apart: the
  report's profiler slows the run it watches), whose seconds per kind of task say where
  the time goes;
* **stackstac peer**: the usual pipeline of the peers' tutorials: ``stackstac.stack``
  with its defaults (one chunk per file; bilinear resampling of the 20 m bands, as
  cropkit), the SCL mask, ``groupby("time.month").median()``, no gap filling, on dask's
  threaded scheduler;
* **odc-stac peer**: ``odc.stac.load`` on the same grid, bands and spatial chunks
  (bilinear for the 20 m bands, nearest for the SCL), the items' scale and offset applied
  by hand (odc-stac never rescales), the SCL mask, the same median.

It checks that cropkit's medians (before gap filling, with the peers' mask) equal each
peer's on every month both have, on the pixels where the methods agree (cropkit leaves
out an observation with a band missing, at a swath edge; the peers keep its other
bands), and reports the requests and bytes the local file server sent for each (what a
remote archive bills). The last line is JSON.

Usage: python benchmarks/bench_pipeline.py [--region chartres] [--profile ci]
       [--report pipeline-report.html]
       python benchmarks/bench_pipeline.py --smoke   # a small area of the ci demo over two
                                                     # months (tests), without the cluster
"""

import argparse
import contextlib
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dask
import numpy as np
import rasterio
import requests
from _demo import SMOKE_LOAD

from cropkit import composite, gapfill
from cropkit.access.load import S2_BAND_NAMES, by_time
from cropkit.access.resample import native_window
from cropkit.config import RunConfig
from cropkit.core.cluster import THREADS, dask_client
from cropkit.core.run import RunFolder
from cropkit.endpoint import connect, shared_api
from cropkit.stages import composites, masking

KEEP = [4, 5, 6, 7]
#: Threads that read (cropkit's ``"threads"`` worker, the floors, the peers' pools).
THREADS_USED = min(os.cpu_count() or 1, 4)
#: The measurements, in the order they run, each in a process of its own.
PARTS = (
    "disk_floor",
    "http_floor",
    "cropkit",
    "cropkit_processes",
    "cropkit_report",
    "stackstac",
    "odc_stac",
)
#: Parts that ``--smoke`` leaves out: the same code as ``cropkit`` on another scheduler
#: (``benchmarks/large_zone.py --smoke`` runs the process cluster).
SKIPPED_IN_SMOKE = ("cropkit_processes",)


def served(url: str) -> dict:
    """The file server's counts of requests and bytes sent since it started."""
    from cropkit.server.asgi import SERVED_PATH  # (imports the STAC API app: not in the parts)

    return requests.get(url + SERVED_PATH, timeout=10).json()


def season(cfg: RunConfig):
    """The source, the season's items by time and the S2 asset keys (bands, then SCL)."""
    source = connect(cfg)
    found = source.search("s2", cfg.bbox, cfg.growing_season, max_cloud=cfg.max_cloud)
    items = by_time(found)
    keys = [source.provider.asset_key("s2", b) for b in (*S2_BAND_NAMES, "SCL")]
    return source, items, keys


def read_windows_of(items, keys, grid) -> list[tuple[str, tuple]]:
    """``(href, ((row0, row1), (col0, col1)))`` of every file: the pixels cropkit reads.

    The grid's window of each 10 m file; for a 20 m file, the native window of
    :func:`cropkit.access.resample.native_window` (the grid and one 20 m pixel around it).
    """
    reads = []
    for item in items:
        for key in keys:
            asset = item.assets[key]
            t = asset.extra_fields["proj:transform"]
            height, width = asset.extra_fields["proj:shape"]
            bounds = grid.bounds if t[0] == 10 else native_window(grid.bounds, (t[2], t[5]), 10)[0]
            cols = math.floor((bounds[0] - t[2]) / t[0]), math.ceil((bounds[2] - t[2]) / t[0])
            rows = math.floor((t[5] - bounds[3]) / t[0]), math.ceil((t[5] - bounds[1]) / t[0])
            window = (max(rows[0], 0), min(rows[1], height)), (max(cols[0], 0), min(cols[1], width))
            reads.append((asset.href, window))
    return reads


# -- the measurements, each run in a fresh process (python bench_pipeline.py --part NAME) --


def disk_floor(cfg, out: Path) -> dict:
    """Every file decoded once from the local disk."""
    from cropkit.server import demo_api

    _, items, keys = season(cfg)
    root = demo_api().files_root
    paths = [root / it.assets[k].href.split("/files/", 1)[1] for it in items for k in keys]

    def decode(path):
        with rasterio.open(path) as src:
            return src.read(1).nbytes

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=THREADS_USED) as pool:
        sum(pool.map(decode, paths))
    return {"seconds": time.perf_counter() - t0, "files": len(paths)}


def http_floor(cfg, out: Path) -> dict:
    """The windows cropkit reads, fetched and decoded by the least a reader must do."""
    from _http_floor import read_windows

    _, items, keys = season(cfg)
    reads = read_windows_of(items, keys, cfg.grid)
    t0 = time.perf_counter()
    read_windows(reads, in_flight=THREADS_USED)  # its requests: the server's counts
    return {"seconds": time.perf_counter() - t0}


def count_opens() -> None:
    """Count, in this process, the files stackstac's readers open (``opened_files``)."""
    from collections import Counter

    from stackstac.rio_reader import AutoParallelRioReader

    from cropkit.access.reader import AlignedReader

    if hasattr(AutoParallelRioReader, "opened_files"):
        return
    AutoParallelRioReader.opened_files = Counter()
    for cls in (AutoParallelRioReader, AlignedReader):
        opener = cls.__dict__["_open"]

        def counted(reader, opener=opener):
            AutoParallelRioReader.opened_files[reader.url] += 1
            return opener(reader)

        cls._open = counted


def opened_files() -> dict[str, int]:
    """Opens per file counted in this process since :func:`count_opens`."""
    from stackstac.rio_reader import AutoParallelRioReader

    return dict(getattr(AutoParallelRioReader, "opened_files", {}))


def cropkit_run(
    cfg, out: Path, scheduler: str = THREADS, report: str | None = None, threads: int = 0
) -> dict:
    """Items to the composite's Zarr store as notebook 03 makes it (``threads``: the
    worker's threads with ``scheduler="threads"``; 0, one per core up to four).

    Counts the files opened by every worker (this process's threads, or each worker
    process of a cluster): ``opens_per_file`` is the mean over the files read. With a
    ``report``, also the seconds the workers' threads spent in each kind of task
    (``task_seconds``, from the task stream).
    """
    from distributed import get_task_stream, performance_report

    source, items, _ = season(cfg)
    run_cfg = RunConfig(**{**cfg.parameters(), "run_root": str(out.parent / out.stem)})
    client = dask_client(scheduler or None, n_workers=threads or None)
    on_workers = scheduler != THREADS  # worker processes count their own opens
    count_opens()
    if on_workers:
        client.run(count_opens)
    t0 = time.perf_counter()
    with contextlib.ExitStack() as watched:
        if report:
            watched.enter_context(performance_report(filename=report))
            stream = watched.enter_context(get_task_stream(client))
        s2 = masking.masked_s2(source, items, cfg.grid, KEEP, buffer_px=1)
        comp = composites.s2_composite(s2, RunFolder.for_config(run_cfg), run_cfg)
        seconds = time.perf_counter() - t0  # not the report's own rendering, after
    opens = [opened_files(), *(client.run(opened_files).values() if on_workers else ())]
    client.close()
    graph = gapfill.fill_gaps(
        composite.period_median(s2.reflectance, "month", cfg.growing_season, s2.clear)
    )
    tasks = len(graph["median"].data.__dask_graph__())
    files = set().union(*opens)
    return {
        "seconds": seconds,
        "tasks": tasks,
        "periods": int(comp.sizes["period"]),
        "tiles": math.prod(s2.reflectance.data.numblocks[-2:]),  # spatial chunks
        "opens_per_file": round(sum(sum(c.values()) for c in opens) / len(files), 2),
        "task_seconds": task_seconds(stream.data) if report else None,
    }


#: A dask key's token (or a part of one): hexadecimal, with a digit.
_TOKEN = re.compile(r"(?=.*[0-9])[0-9a-f]+")


def task_seconds(records: list[dict], top: int = 6) -> dict[str, float]:
    """Seconds computing, summed by kind of task (its key's words less the tokens: the
    names of tasks that dask fused are joined), the ``top`` largest and the rest as
    ``"other"``, from a task stream's records."""
    from collections import Counter

    spent = Counter()
    for record in records:
        key = record["key"][0] if isinstance(record["key"], tuple) else record["key"]
        words = [w for w in str(key).split("-") if w and not _TOKEN.fullmatch(w)]
        kind = "-".join(dict.fromkeys(words))
        for step in record["startstops"]:
            if step["action"] == "compute":
                spent[kind] += step["stop"] - step["start"]
    largest = dict(spent.most_common(top))
    largest["other"] = sum(spent.values()) - sum(largest.values())
    return {name: round(value, 2) for name, value in largest.items()}


def stackstac_peer(cfg, out: Path) -> dict:
    """The tutorials' pipeline: stackstac defaults, SCL mask, groupby month median."""
    import stackstac

    _, items, keys = season(cfg)
    grid = cfg.grid
    common = dict(epsg=grid.epsg, resolution=10, bounds=grid.bounds, xy_coords="center")
    t0 = time.perf_counter()
    # its defaults (float64, rescaled from raster:bands), bilinear for the 20 m bands as cropkit
    bilinear = rasterio.enums.Resampling.bilinear
    cube = stackstac.stack(items, assets=keys[:-1], resampling=bilinear, **common)
    scl = stackstac.stack(
        items,
        assets=keys[-1:],
        dtype="uint8",
        fill_value=np.uint8(0),
        rescale=False,
        resampling=rasterio.enums.Resampling.nearest,
        **common,
    ).isel(band=0)
    masked = cube.where(scl.isin(KEEP))
    tasks = len(masked.data.__dask_graph__())
    with dask.config.set(scheduler="threads", num_workers=THREADS_USED):
        medians = masked.groupby("time.month").median().compute()
    seconds = time.perf_counter() - t0
    _save(out, medians.transpose("month", "band", "y", "x"))
    return {"seconds": seconds, "tasks": tasks}


def odc_stac_peer(cfg, out: Path) -> dict:
    """odc-stac on the same grid and chunks, scaled by hand, SCL mask, month median."""
    import odc.stac
    from odc.geo.geobox import GeoBox

    _, items, keys = season(cfg)
    grid = cfg.grid
    geobox = GeoBox.from_bbox(grid.bounds, crs=f"EPSG:{grid.epsg}", resolution=10)
    t0 = time.perf_counter()
    data = odc.stac.load(
        items,
        bands=keys,
        geobox=geobox,
        chunks={"x": 512, "y": 512},
        resampling={"*": "bilinear", keys[-1]: "nearest"},
        groupby="id",  # one layer per item, as the other pipelines
        pool=None,
    )
    # odc-stac loads digital numbers: each item's scale and offset from its raster:bands
    scale, offset = (
        np.array(
            [[it.assets[k].extra_fields["raster:bands"][0][f] for k in keys[:-1]] for it in items]
        )
        for f in ("scale", "offset")
    )
    dn = data[keys[:-1]].to_dataarray("band").transpose("time", "band", "y", "x")
    reflectance = dn.where(dn != 0) * scale[..., None, None] + offset[..., None, None]
    masked = reflectance.where(data[keys[-1]].isin(KEEP))
    tasks = len(masked.data.__dask_graph__())
    with dask.config.set(scheduler="threads", num_workers=THREADS_USED):
        medians = masked.groupby("time.month").median().compute()
    seconds = time.perf_counter() - t0
    _save(out, medians.transpose("month", "band", "y", "x"))
    return {"seconds": seconds, "tasks": tasks}


def _save(out: Path, medians) -> None:
    """A peer's medians for the comparison, in float32 as cropkit's (half the memory of
    stackstac's float64 on a large zone; rounding moves a reflectance by < 1e-7)."""
    values = medians.values.astype("float32")
    np.savez(out.with_suffix(".npz"), months=medians["month"].values, values=values)


def part(name: str, cfg: RunConfig, out: Path, report: str, threads: int = 0) -> dict:
    runs = {
        "disk_floor": disk_floor,
        "http_floor": http_floor,
        "cropkit": lambda c, o: cropkit_run(c, o, threads=threads),
        "cropkit_processes": lambda c, o: cropkit_run(c, o, scheduler=""),
        "cropkit_report": lambda c, o: cropkit_run(c, o, report=report),
        "stackstac": stackstac_peer,
        "odc_stac": odc_stac_peer,
    }
    return runs[name](cfg, out)


# -- the orchestrator ---------------------------------------------------------------------


def in_fresh_process(
    name: str, args, out: Path, url: str, env: dict | None = None, threads: int = 0
) -> dict:
    """Run one part in a new Python process; add the file server's counts for it.

    ``env``: variables added to the process's environment (GDAL reads its configuration
    options from there); ``threads``: cropkit's reading threads (0: one per core).
    """
    before = served(url)
    command = [sys.executable, __file__, "--part", name, "--out", str(out), "--report", args.report]
    command += ["--smoke"] if args.smoke else ["--region", args.region, "--profile", args.profile]
    command += ["--threads", str(threads)] if threads else []
    t0 = time.perf_counter()
    done = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, **(env or {})}
    )
    process = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
    after = served(url)
    result = json.loads(out.with_suffix(".json").read_text())
    return {
        **result,
        "process_seconds": process,
        "requests": after["requests"] - before["requests"],
        "bytes": after["bytes"] - before["bytes"],
    }


def cropkit_medians(cfg, source, items):
    """cropkit's monthly medians with the peers' mask (no buffer, no gap filling).

    Returns the medians ``(period, band, y, x)``, the month of each period
    (``(period,)``) and the pixels that ever had an observation with a band missing
    (``(y, x)``), as numpy arrays.
    """
    with dask.config.set(scheduler="threads"):
        same_mask = masking.masked_s2(source, items, cfg.grid, KEEP, buffer_px=0)
        ours = composite.period_median(same_mask.masked, "month", cfg.growing_season)
        finite = same_mask.reflectance.notnull()
        partial = (finite.any("band") & ~finite.all("band")).any("time")
        ours, partial = dask.compute(ours["median"], partial)
    return ours.values, ours["period"].dt.month.values, partial.values


def same_medians(ours: np.ndarray, periods: np.ndarray, partial: np.ndarray, theirs: Path) -> dict:
    """Whether cropkit's medians (:func:`cropkit_medians`) equal a peer's saved ones."""
    saved = np.load(theirs)
    months = saved["months"]
    # cropkit leaves out partial observations (a band missing at a swath edge), the
    # peers keep them: the methods agree on the pixels that never had one
    agree = ~partial
    mine = ours[[list(periods).index(m) for m in months]][..., agree]  # a season's months
    other = saved["values"][..., agree]
    both = np.isfinite(mine) & np.isfinite(other)
    same = bool(np.array_equal(np.isfinite(mine), np.isfinite(other)))
    same = same and bool(np.allclose(mine[both], other[both], rtol=0, atol=1e-6))
    difference = np.abs(mine[both] - other[both])
    return {
        "same": same,
        "months": int(len(months)),
        "pixels": int(agree.sum()),
        "partial_pixels": int(partial.sum()),
        "max_abs_difference": float(difference.max()) if difference.size else 0.0,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--region", default="chartres")
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--report", default="pipeline-report.html")
    parser.add_argument("--smoke", action="store_true", help="a small area of the ci demo")
    parser.add_argument("--part", choices=PARTS, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # skipped-item notes; the counts are reported below
    area = SMOKE_LOAD if args.smoke else {"region": args.region, "profile": args.profile}
    if args.part:  # one measurement, in this (fresh) process
        out = Path(args.out)
        cfg = RunConfig(year=2023, run_root=str(out.parent), **area)
        result = part(args.part, cfg, out, args.report, args.threads)
        out.with_suffix(".json").write_text(json.dumps(result))
        return

    with tempfile.TemporaryDirectory() as tmp:
        if args.smoke:
            args.report = f"{tmp}/pipeline-report.html"
        args.report = str(Path(args.report).resolve())
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        cfg = RunConfig(year=2023, run_root=tmp, **area)
        with shared_api(cfg):  # one server, named in the environment the parts inherit
            source, items, _ = season(cfg)
            parts = [p for p in PARTS if not (args.smoke and p in SKIPPED_IN_SMOKE)]
            url = source.url
            runs = {name: in_fresh_process(name, args, Path(tmp) / name, url) for name in parts}
            ours, periods, partial = cropkit_medians(cfg, source, items)
            agree = {
                peer: same_medians(ours, periods, partial, Path(tmp) / f"{peer}.npz")
                for peer in ("stackstac", "odc_stac")
            }

    pixels = cfg.grid.shape[0] * cfg.grid.shape[1]
    disk, http = runs["disk_floor"]["seconds"], runs["http_floor"]["seconds"]
    result = {
        "region": cfg.region,
        "profile": cfg.profile,
        "smoke": args.smoke,
        "items": len(items),
        "files": runs["disk_floor"]["files"],
        "grid": list(cfg.grid.shape),
        "threads": THREADS_USED,
        "disk_floor_s": round(disk, 2),
        "http_floor_s": round(http, 2),
    }
    for name in (p for p in PARTS[2:] if p in runs):
        seconds = runs[name]["seconds"]
        result[f"{name}_s"] = round(seconds, 2)
        if name != "cropkit_report":
            result[f"{name}_over_disk_floor"] = round(seconds / disk, 2)
            result[f"{name}_over_http_floor"] = round(seconds / http, 2)
    for name in ("http_floor", "cropkit", "stackstac", "odc_stac"):
        result[f"{name}_requests"] = runs[name]["requests"]
        result[f"{name}_bytes_per_pixel"] = round(runs[name]["bytes"] / pixels, 1)
    result["cropkit_tasks"] = runs["cropkit"]["tasks"]
    result["cropkit_tiles"] = runs["cropkit"]["tiles"]
    result["cropkit_task_seconds"] = runs["cropkit_report"]["task_seconds"]
    for name in ("cropkit", "cropkit_processes"):
        if name in runs:
            result[f"{name}_opens_per_file"] = runs[name]["opens_per_file"]
    result["stackstac_tasks"] = runs["stackstac"]["tasks"]
    result["odc_stac_tasks"] = runs["odc_stac"]["tasks"]
    result["composite_periods"] = runs["cropkit"]["periods"]
    result["same_medians"] = {peer: check["same"] for peer, check in agree.items()}
    result["medians_compared"] = agree
    result["process_s"] = {name: round(run["process_seconds"], 1) for name, run in runs.items()}
    result["report"] = None if args.smoke else args.report
    print(json.dumps(result))


if __name__ == "__main__":  # dask starts worker processes: guard the entry point
    main()
