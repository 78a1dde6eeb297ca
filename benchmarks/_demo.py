"""What the demo benchmarks share: the run they measure, its datasets, and ``--smoke``.

``bench_train.py``, ``demo_difficulty.py`` and ``source_claims.py`` measure the same run
(Chartres 2023, ``full`` profile, zone z4 held out, under ``runs/difficulty``): the demo,
its composites and its datasets are built by the first and reused by the others, through
the stages the notebooks use (:mod:`cropkit.stages`).

``--smoke`` swaps in a small area of the ``ci`` demo (about 1.8 x 1.2 km, six zones of
600 m, zone z4 held out) and tiny budgets: every number the script prints, in seconds,
so the test suite runs each benchmark and a refactor cannot break one unseen.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from collections.abc import Iterator

import cropkit as ck
from cropkit.stages import composites as composite_stage
from cropkit.stages import parcels as parcel_stage
from cropkit.stages.study import run_datasets

#: The area of a smoke run (RunConfig arguments): inside the Chartres ``ci`` demo, six
#: zones of 600 m.
SMOKE_AREA = {"aoi": "1.52,48.395,1.536,48.402", "zone_km": 0.6, "stac": "demo", "profile": "ci"}
#: The smoke runs of the loading benchmarks (bench_pipeline, gdal_options, bench_composite,
#: large_zone): :data:`SMOKE_AREA` over two months. The smoke area is small, but every
#: file of a season is opened whatever its size: two months hold a sixth of the items.
SMOKE_LOAD = {**SMOKE_AREA, "season": "2023-05-01/2023-06-30"}


def data_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that pick the demo run, and ``--smoke``."""
    parser.add_argument("--region", default="chartres")
    parser.add_argument("--year", type=int, default=2023)
    parser.add_argument("--profile", default="full")
    parser.add_argument("--test-zone", default="z4")
    parser.add_argument(
        "--run-root",
        default=None,
        help="folder of the run folders (default runs/difficulty; a temporary one with --smoke)",
    )
    parser.add_argument("--smoke", action="store_true", help="a small area, tiny budgets (tests)")


@contextlib.contextmanager
def run_root(args: argparse.Namespace) -> Iterator[str]:
    """The run root of ``args``: given, ``runs/difficulty``, or a temporary one for a smoke run.

    A smoke run without ``$CROPKIT_CACHE_DIR`` also builds its demo in a temporary cache.
    """
    if args.run_root:
        yield args.run_root
    elif not args.smoke:
        yield "runs/difficulty"
    else:
        with tempfile.TemporaryDirectory(prefix="cropkit-smoke-") as tmp:
            if "CROPKIT_CACHE_DIR" not in os.environ:
                os.environ["CROPKIT_CACHE_DIR"] = os.path.join(tmp, "cache")
            yield os.path.join(tmp, "runs")


def run_config(args: argparse.Namespace, root: str) -> ck.RunConfig:
    """The demo run measured (a small area of the ``ci`` demo with ``--smoke``)."""
    if args.smoke:
        return ck.RunConfig(year=args.year, run_root=root, **SMOKE_AREA)
    return ck.RunConfig(region=args.region, year=args.year, profile=args.profile, run_root=root)


def demo_inputs(cfg: ck.RunConfig) -> tuple[ck.RunFolder, dict, object]:
    """The run folder, its composites (notebook 03's, built if missing) and parcels."""
    run, source = ck.RunFolder.for_config(cfg), ck.open_source(cfg)
    client = ck.cluster.dask_client(ck.cluster.THREADS)
    try:
        mask = ck.parameters.MaskingParameters()  # notebook 02's defaults
        composites = composite_stage.load_composites(source, run, period="month", mask=mask)
    finally:
        client.close()
    return run, composites, parcel_stage.run_parcels(source, run=run)


def demo_datasets(cfg: ck.RunConfig, test_zone: str, patch_size: int = 32) -> tuple[dict, dict]:
    """Pixel and patch datasets of the run, as notebook 04 makes them (saved, then reused).

    Returns
    -------
    data : dict
        ``{"pixel": ..., "patch": ...}``, loaded in memory.
    context : dict
        ``run``, ``composites``, ``parcels``.
    """
    run, composites, parcels = demo_inputs(cfg)
    data = run_datasets(ck.open_source(cfg), [test_zone], ("pixel", "patch"), patch_size=patch_size)
    loaded = {kind: ds.load() for kind, ds in data.items()}
    return loaded, {"run": run, "composites": composites, "parcels": parcels}
