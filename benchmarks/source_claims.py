"""The source works' claims, tested on the demo with their models.

1. **Radar under cloud** (Attention-3DCNN, source study 3): S2 + S1 against S2 alone,
   in a clear year and with June-August hidden by cloud
   (:func:`cropkit.experiments.robustness.cloud_robustness`). The claim: radar gains more under
   cloud than in a clear year.
2. **Hyperspectral adds F1** (dual-stream transformer, source study 1): S2 + EnMAP
   against S2 alone, macro F1 per tier (the source reports +4.2 points on average).
3. **Hierarchical heads nest**: the share of held-out pixels whose tier answers agree
   up the taxonomy (goal >= 99 %).

Same data as ``benchmarks/bench_train.py`` (Chartres 2023, ``full`` profile, zone z4 held
out). Every training gets the same time budget (``--minutes``).

Usage::

    python benchmarks/source_claims.py --minutes 3
    python benchmarks/source_claims.py --smoke      # a small area, one short epoch (tests)

The last line printed is one JSON object with every number.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _demo import data_arguments, demo_datasets, run_config, run_root

from cropkit import robustness, train

#: Deep settings of a smoke run: one epoch of a few batches.
SMOKE_SETTINGS = {"epochs": 1, "samples_per_epoch": 16}


def radar_under_cloud(patches, minutes: float, smoke: bool = False) -> dict:
    """Tier-4 macro F1 of attention3dcnn with and without S1, clear and cloudy summer."""
    settings = train.budget_settings("attention3dcnn", max_minutes=minutes)
    settings.update(SMOKE_SETTINGS if smoke else {})
    table, _ = robustness.cloud_robustness(
        "attention3dcnn",
        patches,
        {"cloudy summer (Jun-Aug)": [5, 6, 7]},
        {"S2": ("s2",), "S2 + S1": ("s2", "s1")},
        **settings,
    )
    gain = (table["S2 + S1"] - table["S2"]).round(4)
    print(table.round(4).assign(radar_gain=gain).to_string(), flush=True)
    return {
        "macro_f1_tier4": table.round(4).to_dict(orient="index"),
        "radar_gain": gain.to_dict(),
        "radar_gains_more_under_cloud": bool(gain.iloc[1] > gain.iloc[0]),
    }


def hyperspectral_gain(patches, minutes: float, smoke: bool = False) -> dict:
    """Per-tier macro F1 of dual_stream with and without EnMAP, and head agreement."""
    settings = train.budget_settings("dual_stream", max_minutes=minutes)
    settings.update(SMOKE_SETTINGS if smoke else {})
    out = {}
    for label, inputs in {"S2": ("s2",), "S2 + EnMAP": ("s2", "enmap")}.items():
        result = train.fit_and_score("dual_stream", patches, inputs, **settings)
        summary = result.summary()
        out[label] = {
            "macro_f1": summary["macro_f1"].round(4).to_dict(),
            "tier_agreement": {k: round(v, 4) for k, v in result.info["tier_agreement"].items()},
            "epochs": result.info.get("epochs"),
            "fit_seconds": result.info.get("fit_seconds"),
        }
        print(label, json.dumps(out[label]), flush=True)
    s2, fused = out["S2"]["macro_f1"], out["S2 + EnMAP"]["macro_f1"]
    gain = {tier: round(100 * (fused[tier] - s2[tier]), 2) for tier in s2}
    out["enmap_gain_points"] = gain
    out["enmap_mean_gain_points"] = round(sum(gain.values()) / len(gain), 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data_arguments(parser)
    parser.add_argument("--minutes", type=float, default=3.0, help="budget per training")
    args = parser.parse_args()

    with run_root(args) as root:
        cfg = run_config(args, root)
        data, context = demo_datasets(cfg, args.test_zone)
        patches = data["patch"]
        results = {
            "profile": cfg.profile,
            "test_zone": args.test_zone,
            "minutes": args.minutes,
            "smoke": args.smoke,
        }
        results["radar_under_cloud"] = radar_under_cloud(patches, args.minutes, args.smoke)
        results["hyperspectral"] = hyperspectral_gain(patches, args.minutes, args.smoke)
        out = Path(context["run"].path) / "source_claims.json"
        out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
