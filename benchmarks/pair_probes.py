"""Do pair probes find the months that tell look-alike crops apart? Every pair, every model.

One test zone holds a few of the demo's look-alike pairs; this pools the test zones of
several regions (by default Auch, Chartres, Saint-Quentin and Vitre, ``ci`` profile,
zone z2 held out: together they hold all nine pairs of
:data:`cropkit.analysis.attribution.LOOKALIKE_PAIRS`), trains each attention model on
the pooled training zones (Sentinel-2, ``--epochs`` epochs, ``--seeds`` seeds) and reads
two probes per pair on the pooled test zones (:mod:`cropkit.analysis.pairs`):

- ``attention``: the difference of the two crops' temporal attention on their own pixels;
- ``gradients``: Integrated Gradients of the logit difference between the two crops.

Each probe's peak is scored against the period where the simulated canopies of the two
crops separate most (:func:`cropkit.demo.canopy_separation`): a hit within one period.
Per model and probe: hits over pairs x seeds, the hit rate with its 95 % Wilson
interval, the rate chance would give (a peak drawn at random), and the one-sided
binomial p-value of doing better than chance. Prints one JSON line last.

    python benchmarks/pair_probes.py                      # four regions, 3 seeds (minutes)
    python benchmarks/pair_probes.py --smoke              # a small area, one short epoch
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np
import pandas as pd
from _demo import SMOKE_AREA
from scipy.stats import binomtest

from cropkit.analysis import attribution, pairs
from cropkit.analysis.attention import class_profiles, extract_attention
from cropkit.endpoint import open_source, shared_api
from cropkit.experiments.fit import budget_settings, fit_and_score
from cropkit.experiments.study import StudySpec
from cropkit.face.reruns import RunSpec
from cropkit.models import model_kind
from cropkit.stages.study import study_datasets

REGIONS = ("auch", "chartres", "saint-quentin", "vitre")
MODELS = ("ltae", "attention3dcnn", "dual_stream")
#: Small settings of a smoke run (a few batches of one epoch).
SMOKE_SETTINGS = {"samples_per_epoch": 64, "batch_size": 16}


def pooled_data(runs: list[dict], zone: str, models) -> tuple[dict, object]:
    """The pooled pixel and patch datasets of ``runs`` and a source that knows the truth."""
    spec = StudySpec.from_dict(
        {
            "name": "pair-probes",
            "data": {"runs": runs, "test_zones": [zone]},
            "models": {m: {} for m in models},
            "variants": {"s2": {"inputs": ["s2"]}},
        }
    )
    configs = [RunSpec(dict(run)).config() for run in runs]
    with shared_api(configs):
        sources = [open_source(cfg) for cfg in configs]
        data = study_datasets(spec, sources)
    return data, sources[0]


def probe_model(name: str, ds, wanted, seed: int, epochs: int, smoke: bool, steps: int) -> dict:
    """Train ``name`` once; its two probes per pair present in the test samples."""
    settings = {**budget_settings(name, epochs), "seed": seed}
    settings.update(SMOKE_SETTINGS if smoke else {})
    result = fit_and_score(name, ds, ("s2",), **settings)
    model = result.model
    limit = 64 if model.kind == "patch" else 20000
    attention = extract_attention(model, ds, max_samples=limit)
    temporal = class_profiles(attention).mean("head")
    present = set(temporal["class"].values)
    found = [pair for pair in wanted if set(pair) <= present]
    samples = 16 if smoke else (48 if model.kind == "patch" else 256)
    probes = {
        (name, "attention"): {p: pairs.attention_contrast(temporal, *p).values for p in found},
        (name, "gradients"): {
            p: pairs.pair_gradients(model, ds, *p, max_samples=samples, n_steps=steps).values
            for p in found
        },
    }
    macro_f1 = float(result.reports["tier4"].macro_f1)
    return {"probes": probes, "macro_f1": macro_f1, "times": attention["time"].values}


def hit_rates(peaks: pd.DataFrame) -> pd.DataFrame:
    """Per model and probe: hits, trials, rate, Wilson interval, chance and p-value."""
    rows = []
    for (model, probe), part in peaks.groupby(["model", "probe"], sort=False):
        hits, n, chance = int(part["hit"].sum()), len(part), float(part["chance"].mean())
        test = binomtest(hits, n, chance, alternative="greater")  # better than chance?
        low, high = binomtest(hits, n).proportion_ci(0.95, method="wilson")  # two-sided
        rows.append(
            {
                "model": model,
                "probe": probe,
                "hits": hits,
                "trials": n,
                "hit_rate": round(hits / n, 3),
                "low": round(low, 3),
                "high": round(high, 3),
                "chance": round(chance, 3),
                "p_value": round(test.pvalue, 4),
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", default=",".join(REGIONS))
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--test-zone", default="z2")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--ig-steps", type=int, default=16, help="Integrated Gradients steps")
    parser.add_argument("--run-root", default=None, help="run folders (runs/; a temporary one)")
    parser.add_argument("--smoke", action="store_true", help="a small area, one short epoch")
    args = parser.parse_args()
    models = args.models.split(",")
    with tempfile.TemporaryDirectory(prefix="cropkit-pairs-") as tmp:
        if args.smoke:
            runs = [{**SMOKE_AREA, "zone_km": 0.6, "run_root": args.run_root or tmp}]
            args.test_zone, args.epochs, args.seeds, args.ig_steps = "z4", 1, 1, 4
        else:
            runs = [
                {"region": r, "year": 2023, "profile": "ci", "run_root": args.run_root or "runs"}
                for r in args.regions.split(",")
            ]
        started = time.perf_counter()
        data, source = pooled_data(runs, args.test_zone, models)
        build = time.perf_counter() - started
        classes = data["pixel" if "pixel" in data else "patch"].attrs["classes_tier4"]
        wanted = attribution.lookalike_pairs(classes)
        peaks, scores, seconds = [], {}, {}
        for name in models:
            t0 = time.perf_counter()
            for seed in range(args.seeds):
                ds = data[model_kind(name)]
                out = probe_model(name, ds, wanted, seed, args.epochs, args.smoke, args.ig_steps)
                separation = source.canopy_separation(wanted, out["times"], seed=0)
                table = pairs.pair_peaks(separation, out["probes"])
                peaks.append(table.assign(seed=seed))
                scores.setdefault(name, []).append(round(out["macro_f1"], 4))
            seconds[name] = round(time.perf_counter() - t0, 1)
            print(f"{name}: {seconds[name]} s, tier-4 macro F1 {scores[name]}", flush=True)
    peaks = pd.concat(peaks, ignore_index=True)
    peaks["hit"] = peaks["hit"].astype(float)
    rates = hit_rates(peaks)
    print(rates.to_string(index=False), flush=True)
    per_pair = peaks.groupby(["a", "b", "best"], sort=False)["hit"].mean().round(3)
    print(
        json.dumps(
            {
                "regions": [r.get("region", r.get("aoi")) for r in runs],
                "pairs_scored": len(peaks[["a", "b"]].drop_duplicates()),
                "epochs": args.epochs,
                "seeds": args.seeds,
                "build_seconds": round(build, 1),
                "train_and_probe_seconds": seconds,
                "macro_f1_tier4": scores,
                "hit_rates": rates.to_dict(orient="records"),
                "per_pair": [
                    {"a": a, "b": b, "best": str(best), "hit_rate": float(v)}
                    for (a, b, best), v in per_pair.items()
                ],
                "mean_distance": peaks.groupby(["model", "probe"])["distance"]
                .mean()
                .round(2)
                .reset_index()
                .to_dict(orient="records"),
                "chance_floor": float(np.round(peaks["chance"].min(), 3)) if len(peaks) else None,
            },
            default=str,
        )
    )


if __name__ == "__main__":
    main()
