"""How hard is the demo? The XGBoost baseline on a held-out zone, through the real pipeline.

Builds (or reuses) the demo, its composites and the labelled pixels exactly as notebooks
01-04 do, then prints and saves:

- per-tier scores of the Sentinel-2 baseline on the held-out zone;
- what Sentinel-1 and EnMAP add (overall and per class);
- the leakage report (random pixel split against the spatial split);
- robustness to cloudy seasons, with and without radar.

The simulator is calibrated so that the tier-4 macro F1 of the Sentinel-2 baseline sits
between 0.40 and 0.80, coarser tiers higher, as published crop-type maps do on real data.

Usage::

    python benchmarks/demo_difficulty.py --region chartres --profile full --test-zone z4

About 20 minutes on 2 cores for the ``full`` profile (most of it building the demo and
the composites; both are cached for the next run).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cropkit as ck
from cropkit import datasets, labels, robustness, splits, studies, train, workflow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", default="chartres")
    parser.add_argument("--year", type=int, default=2023)
    parser.add_argument("--profile", default="full")
    parser.add_argument("--test-zone", default="z4")
    parser.add_argument("--run-root", default="runs/difficulty")
    args = parser.parse_args()

    started = time.perf_counter()
    cfg = ck.RunConfig(
        region=args.region, year=args.year, profile=args.profile, run_root=args.run_root
    )
    run = ck.RunFolder.for_config(cfg)
    client = ck.cluster.dask_client(None)
    composites = workflow.load_composites(None, cfg, run)
    client.close()
    parcels = workflow.run_parcels(cfg)
    layers = labels.rasterize_labels(parcels, composites["s2"], buffer_m=10)
    split = splits.zone_holdout(layers, cfg.grid.zones_frame(), [args.test_zone])
    pixels = datasets.pixel_dataset(
        composites["s2"], layers, split, composites["s1"], composites["enmap"]
    ).load()
    print(f"{len(parcels)} parcels, {pixels.sizes['sample']} labelled pixels", flush=True)

    baseline = train.fit_and_score("xgboost", pixels)
    tiers = baseline.summary()
    print(tiers.round(3).to_string(), "\n", flush=True)
    inputs, per_class = studies.compare_inputs("xgboost", pixels)
    print(inputs.round(3).to_string(), "\n")
    print(per_class.round(2).to_string(), "\n", flush=True)
    leak = studies.leakage_report("xgboost", pixels)
    print(leak.round(3).to_string(), "\n", flush=True)
    clouds, _ = robustness.cloud_robustness("xgboost", pixels)
    clouds["radar gain"] = clouds["S2 + S1"] - clouds["S2"]
    print(clouds.round(3).to_string(), "\n")

    results = {
        "region": cfg.region,
        "profile": cfg.profile,
        "test_zone": args.test_zone,
        "parcels": len(parcels),
        "pixels": int(pixels.sizes["sample"]),
        "tiers": tiers.round(4).to_dict(orient="index"),
        "inputs": inputs.round(4).to_dict(orient="index"),
        "per_class_f1": per_class.round(3).to_dict(),
        "leakage": leak.round(4).to_dict(orient="index"),
        "clouds": clouds.round(4).to_dict(orient="index"),
        "seconds": round(time.perf_counter() - started),
    }
    out = Path(run.path) / "difficulty.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"saved {out} ({results['seconds']} s)")


if __name__ == "__main__":
    main()
