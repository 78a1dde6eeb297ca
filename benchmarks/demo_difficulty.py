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
    python benchmarks/demo_difficulty.py --smoke     # a small area, a tiny model (tests)

About 20 minutes on 2 cores for the ``full`` profile (most of it building the demo and
the composites; both are cached for the next run).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _demo import data_arguments, demo_datasets, run_config, run_root

from cropkit import robustness, studies, train

#: XGBoost settings of a smoke run: a small subsample, a few trees.
SMOKE_SETTINGS = {"max_train_pixels": 2000, "n_estimators": 5}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data_arguments(parser)
    args = parser.parse_args()
    with run_root(args) as root:
        results = difficulty(args, root)
    print(json.dumps(results, default=str))


def difficulty(args: argparse.Namespace, root: str) -> dict:
    """Every figure of the README's demo tables, printed as tables and returned."""
    started = time.perf_counter()
    cfg = run_config(args, root)
    data, context = demo_datasets(cfg, args.test_zone)
    pixels, parcels, run = data["pixel"], context["parcels"], context["run"]
    print(f"{len(parcels)} parcels, {pixels.sizes['sample']} labelled pixels", flush=True)
    settings = SMOKE_SETTINGS if args.smoke else {}

    baseline = train.fit_and_score("xgboost", pixels, **settings)
    tiers = baseline.summary()
    print(tiers.round(3).to_string(), "\n", flush=True)
    inputs, per_class = studies.compare_inputs("xgboost", pixels, **settings)
    print(inputs.round(3).to_string(), "\n")
    print(per_class.round(2).to_string(), "\n", flush=True)
    leak = studies.leakage_report("xgboost", pixels, **settings)
    print(leak.round(3).to_string(), "\n", flush=True)
    clouds, _ = robustness.cloud_robustness("xgboost", pixels, **settings)
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
        "smoke": args.smoke,
    }
    out = Path(run.path) / "difficulty.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"saved {out} ({results['seconds']} s)")
    return results


if __name__ == "__main__":
    main()
