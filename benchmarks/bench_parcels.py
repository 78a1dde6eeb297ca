"""Real parcel series: the pixel deep models against XGBoost on WorldCereal samples.

The shared WorldCereal table (``../shared/data/worldcereal``: 500 labelled samples from
South Sudan and Uganda, 2017, monthly Sentinel-2 and Sentinel-1) goes through the path a
researcher's own series take: ``ck.datasets.from_worldcereal`` (which decodes
WorldCereal's scalings and calls ``from_arrays``) with a four-tier mapping of its crop
codes (``tests/fixtures/worldcereal_taxonomy.csv``). The samples are dealt into spatial
folds (``ck.folds.coordinate_folds``: 0.05 degree blocks, stratified by class); round
``i`` tests on fold ``i``, stops early on fold ``i + 1`` and trains on the others, as
``ck.studies.cross_validate`` does.

Every model trains under two budgets, each over ``--seeds`` seeds:

- ``epochs``: the configs' budget (30 epochs, early stopping on validation macro F1,
  batches and draws per epoch sized from the training set): the same fit on any machine;
- ``minutes``: the same with ``max_minutes`` per fit, the learning-rate schedule fitted to
  the time budget.

For each model and budget it prints tier-4 and tier-3 macro F1 (mean and sd over folds,
each fold averaged over the seeds), the epochs reached, which limit stopped the fits and
the seconds per fit; and each deep model minus XGBoost, fold by fold (seed-averaged),
with its 95 % interval (``ck.metrics.paired_difference``): a difference whose interval
holds 0 is inconclusive.

Usage::

    python benchmarks/bench_parcels.py                  # 5 folds x 3 seeds, about 15 min
    python benchmarks/bench_parcels.py --inputs s2      # optical only
    python benchmarks/bench_parcels.py --smoke          # tiny budget, seconds
    python benchmarks/bench_parcels.py --budgets minutes --batch-size 512 \
        --samples-per-epoch 100000                      # the fixed sizes cropkit had

The last line printed is one JSON object with every number.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

import cropkit as ck
from cropkit.compute.folds import fold_codes

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT.parent / "shared/data/worldcereal/public_extractions_2017_SSD_UGA.parquet"
TAXONOMY = ROOT / "tests/fixtures/worldcereal_taxonomy.csv"


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, default=TABLE)
    parser.add_argument("--taxonomy", type=Path, default=TAXONOMY)
    parser.add_argument("--models", default="xgboost,tempcnn,ltae")
    parser.add_argument("--inputs", default="s2,s1")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=30, help="the epochs budget")
    parser.add_argument("--minutes", type=float, default=0.5, help="max_minutes of each fit")
    parser.add_argument("--budgets", default="epochs,minutes", help="which budgets to run")
    parser.add_argument("--batch-size", default="auto", help="deep models' batch_size")
    parser.add_argument("--samples-per-epoch", default="auto", help="deep models' draws/epoch")
    parser.add_argument("--smoke", action="store_true", help="tiny data and budget (tests)")
    args = parser.parse_args()
    if args.smoke:
        args.models, args.folds, args.seeds = "xgboost,tempcnn", 3, 1
        args.epochs, args.minutes = 2, 0.02
    return args


def fit(name: str, ds, inputs, seed: int, budget: dict) -> dict:
    """One fit of one round: its scores, epochs and limit."""
    settings = {} if name == "xgboost" else budget
    if name == "xgboost" and budget.get("epochs", 30) < 5:  # smoke: few trees
        settings = {"n_estimators": 20}
    started = time.perf_counter()
    with warnings.catch_warnings():  # classes absent from a fold's training side
        warnings.simplefilter("ignore")
        result = ck.train.fit_and_score(name, ds, inputs, seed=seed, **settings)
    return {
        "f1_tier4": result.reports["tier4"].macro_f1,
        "f1_tier3": result.reports["tier3"].macro_f1,
        "oa": result.reports["tier4"].overall_accuracy,
        "epochs": result.info.get("epochs"),
        "stopped_by": result.info.get("stopped_by", "boosting rounds"),
        "seconds": time.perf_counter() - started,
    }


def summary(runs: list[dict], folds: int) -> dict:
    """Seed-averaged fold scores and their spread, epochs and limits."""
    by_fold = {
        key: [np.mean([r[key] for r in runs if r["fold"] == k]) for k in range(folds)]
        for key in ("f1_tier4", "f1_tier3", "oa")
    }
    epochs = [r["epochs"] for r in runs if r["epochs"] is not None]
    return {
        **{
            key: {"mean": round(float(np.mean(v)), 4), "sd": round(float(np.std(v, ddof=1)), 4)}
            for key, v in by_fold.items()
        },
        "by_fold_f1_tier4": [round(float(v), 4) for v in by_fold["f1_tier4"]],
        "epochs": {"mean": round(float(np.mean(epochs)), 1), "min": min(epochs), "max": max(epochs)}
        if epochs
        else None,
        "stopped_by": dict(Counter(r["stopped_by"] for r in runs)),
        "seconds_per_fit": round(float(np.mean([r["seconds"] for r in runs])), 1),
    }


def main() -> None:
    args = arguments()
    if not args.table.exists():
        raise SystemExit(f"{args.table} is missing: the shared WorldCereal table is needed.")
    taxonomy = ck.load_taxonomy(args.taxonomy)
    samples = ck.datasets.read_worldcereal(args.table)
    split = np.zeros(len(samples.labels), np.int8)  # every sample trains; folds test
    ds = ck.datasets.from_worldcereal(samples, taxonomy, split=split)
    folds = ck.folds.coordinate_folds(
        ds["lon"].values, ds["lat"].values, args.folds, 0.05, ds["tier4"].values, seed=0
    )
    models, inputs = args.models.split(","), tuple(args.inputs.split(","))
    print(
        f"{ds.sizes['sample']} samples, {len(np.unique(ds['tier4']))} tier-4 classes, "
        f"folds of {np.bincount(folds).tolist()} samples, inputs {inputs}"
    )
    sizes = {  # the deep models' batch size and draws per epoch ("auto": from the data)
        key: value if value == "auto" else int(value)
        for key, value in (
            ("batch_size", args.batch_size),
            ("samples_per_epoch", args.samples_per_epoch),
        )
    }
    every = {
        "epochs": {"epochs": args.epochs, **sizes},
        "minutes": {"epochs": args.epochs, "max_minutes": args.minutes, **sizes},
    }
    budgets = {name: every[name] for name in args.budgets.split(",")}
    results: dict = {name: {} for name in models}
    for budget, settings in budgets.items():
        for name in models:
            if name == "xgboost" and results[name]:  # no time budget to fit: once
                results[name][budget] = next(iter(results[name].values()))
                continue
            runs = []
            for seed in range(args.seeds):
                for k in range(args.folds):
                    split = fold_codes(folds, k, args.folds)
                    run = fit(name, ds.assign(split=("sample", split)), inputs, seed, settings)
                    runs.append({**run, "fold": k, "seed": seed})
            results[name][budget] = {"runs": runs, **summary(runs, args.folds)}
            s = results[name][budget]
            print(
                f"{budget:8s} {name:8s} tier-4 macro F1 {s['f1_tier4']['mean']:.3f} ± "
                f"{s['f1_tier4']['sd']:.3f}  tier-3 {s['f1_tier3']['mean']:.3f}  "
                f"epochs {s['epochs']}  stopped by {s['stopped_by']}  "
                f"{s['seconds_per_fit']} s/fit",
                flush=True,
            )
    base = next(iter(results.get("xgboost", {}).values()), None)
    versus = {}
    for name in models:
        if name == "xgboost" or base is None:
            continue
        for budget in budgets:
            d = ck.metrics.paired_difference(
                results[name][budget]["by_fold_f1_tier4"], base["by_fold_f1_tier4"]
            )
            versus[f"{name} ({budget})"] = {
                k: round(v, 4) if isinstance(v, float) else v for k, v in d.items()
            }
            print(
                f"{name} ({budget}) - xgboost, tier-4 macro F1: {d['mean']:+.3f} "
                f"[{d['low']:+.3f}, {d['high']:+.3f}] over {d['n']} folds: {d['verdict']}"
            )
    for name in results:
        for budget in results[name].values():
            budget.pop("runs", None)
    print(
        json.dumps(
            {
                "samples": int(ds.sizes["sample"]),
                "folds": args.folds,
                "seeds": args.seeds,
                "inputs": list(inputs),
                **sizes,
                "epochs": args.epochs,
                "minutes": args.minutes,
                "models": results,
                "vs_xgboost": versus,
            }
        )
    )


if __name__ == "__main__":
    main()
