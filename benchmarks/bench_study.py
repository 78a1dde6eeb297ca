"""A study's cost: building and pooling its runs' datasets, and running its units.

Measures, for a study file (by default ``data/studies/tempcnn_unet_regions.yaml``: the
eight demo regions' ``ci`` profile), the seconds to build each run's datasets through
the stages (cached in the run folders: a second run of the benchmark reuses them), the
seconds and the peak memory of pooling them (traced allocations; the pooled dataset is
the one copy loaded), and the wall time of the study's units on this machine, with its
paired differences. Prints one JSON line last.

``--smoke``: two small areas of the Chartres ``ci`` demo, XGBoost and the 1D-CNN + U-Net
for one epoch, two seeds.

    python benchmarks/bench_study.py                       # the eight regions (minutes)
    python benchmarks/bench_study.py --smoke               # seconds
    python benchmarks/bench_study.py --folder studies/tempcnn-unet-regions  # results kept
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tracemalloc
from pathlib import Path

from _demo import SMOKE_AREA

import cropkit as ck
from cropkit.endpoint import open_source, shared_api
from cropkit.experiments.pooling import pool_datasets, pool_to_store
from cropkit.experiments.study import StudySpec, load_study, run_study
from cropkit.experiments.verdicts import summarise
from cropkit.face.reruns import RunSpec
from cropkit.models import model_kind
from cropkit.stages.study import run_datasets, run_labels, study_datasets

ROOT = Path(__file__).resolve().parents[1]
SMOKE_AREAS = (SMOKE_AREA["aoi"], "1.536,48.395,1.552,48.402")


def smoke_study(run_root: str) -> StudySpec:
    """Two small areas, two models, one epoch, two seeds."""
    runs = [{"aoi": aoi, "zone_km": 0.6, "run_root": run_root} for aoi in SMOKE_AREAS]
    return StudySpec.from_dict(
        {
            "name": "smoke",
            "data": {"runs": runs, "test_zones": ["z4"]},
            "models": {"tempcnn_unet": {"batch_size": 16}, "xgboost": {"n_estimators": 20}},
            "variants": {"s2": {"inputs": ["s2"]}},
            "compare": [["tempcnn_unet", "xgboost"]],
            "seeds": 2,
            "budget": {"epochs": 1},
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default=str(ROOT / "data/studies/tempcnn_unet_regions.yaml"))
    parser.add_argument("--run-root", default=None, help="run folders (default: the study's)")
    parser.add_argument(
        "--folder",
        default=None,
        help="keep the study's results there (then `cropkit study -f FILE --folder` reports "
        "them without recomputing); a temporary folder by default",
    )
    parser.add_argument("--smoke", action="store_true", help="two small areas, tiny budgets")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cropkit-bench-study-") as tmp:
        spec = smoke_study(args.run_root or tmp) if args.smoke else load_study(args.study)
        folder = Path(args.folder) if args.folder else Path(tmp) / "study"
        print(json.dumps(measure(spec, folder), default=str))


def measure_streaming(parts: dict, pooled, folder: Path, batch: int = 1024) -> dict:
    """Pool into a Zarr store (seconds, peak memory) and read an epoch from it.

    The epoch's batches (shuffled, one seed) are read from memory and from the store; the
    two must be equal.
    """
    import numpy as np

    from cropkit.datasets.loaders import make_loader
    from cropkit.datasets.torchdata import TensorStreams

    tracemalloc.start()
    t0 = time.perf_counter()
    stored = pool_to_store(parts, folder / "pooled", "pixels")
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    epochs = {}
    for name, streams in (
        ("memory", TensorStreams(pooled, ("s2",))),
        ("store", TensorStreams(stored, ("s2",), in_memory=False)),
    ):
        t0 = time.perf_counter()
        first = None
        for i, b in enumerate(make_loader(streams, batch, seed=0)):
            first = b if i == 0 else first
        epochs[name] = (time.perf_counter() - t0, first)
    memory, store = epochs["memory"][1], epochs["store"][1]
    same = memory.keys() == store.keys() and all(
        np.array_equal(memory[k].numpy(), store[k].numpy(), equal_nan=k == "s2") for k in memory
    )
    return {
        "pool_seconds": round(seconds, 2),
        "pool_peak_mb": round(peak / 2**20, 1),
        "epoch_seconds_memory": round(epochs["memory"][0], 2),
        "epoch_seconds_store": round(epochs["store"][0], 2),
        "batch": batch,
        "same_batches": bool(same),
    }


def measure(spec: StudySpec, folder: Path) -> dict:
    """Build, pool and run ``spec``; the seconds and memory of each step."""
    configs = [RunSpec(dict(run)).config() for run in spec.runs]
    kinds = sorted({model_kind(name) for name in spec.models})
    with shared_api(configs):
        sources = [open_source(cfg) for cfg in configs]
        t0 = time.perf_counter()
        client = ck.cluster.dask_client(ck.cluster.THREADS)
        try:
            per_run = [run_datasets(s, list(spec.test_zones), kinds, spec.period) for s in sources]
        finally:
            client.close()
        build = time.perf_counter() - t0
        labels = run_labels(sources)
        tracemalloc.start()
        t0 = time.perf_counter()
        pooled = pool_datasets({label: d["pixel"] for label, d in zip(labels, per_run)}).load()
        pool_seconds = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        pooled_mb = pooled.nbytes / 2**20
        streamed = measure_streaming(
            {label: d["pixel"] for label, d in zip(labels, per_run)}, pooled, folder.parent
        )
        del pooled
        data = study_datasets(spec, sources)
    t0 = time.perf_counter()
    results = run_study(spec, data, folder, report=lambda line: print(line, flush=True))
    study_seconds = time.perf_counter() - t0
    tables = summarise(spec, results)
    differences = tables["differences"].query("tier == 'tier4'")
    return {
        "study": spec.name,
        "runs": len(configs),
        "samples": {kind: int(ds.sizes[next(iter(ds.dims))]) for kind, ds in data.items()},
        "build_seconds": round(build, 1),
        "pool_seconds": round(pool_seconds, 2),
        "pool_peak_mb": round(peak / 2**20, 1),
        "pooled_mb": round(pooled_mb, 1),
        "peak_over_pooled": round(peak / 2**20 / pooled_mb, 2),
        "streamed": streamed,
        "units": len(results),
        "study_seconds": round(study_seconds, 1),
        "tier4": json.loads(tables["scores"].query("tier == 'tier4'").to_json(orient="records")),
        "differences": json.loads(differences.to_json(orient="records")),
    }


if __name__ == "__main__":
    main()
