"""A study's results summarised: scores over seeds, paired differences and their verdicts.

:func:`summarise` takes the units' results of :func:`cropkit.experiments.study.run_study`
and gives the mean and 95 % Student-t interval of each score over seeds, and the paired
differences between variants (or models), seed by seed on the same split, with a
verdict: *reproduced* (the interval lies above 0), *contradicted* (below) or
*inconclusive* (it holds 0: inside the noise).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..compute.metrics import mean_interval, paired_difference
from ..core.taxonomy import TIERS
from .study import StudySpec, Unit, unit_recipe

__all__ = ["VERDICTS", "summarise", "time_capped"]

#: A paired difference's verdict, from the sign of its interval.
VERDICTS = {"higher": "reproduced", "lower": "contradicted", "inconclusive": "inconclusive"}


def summarise(spec: StudySpec, results: list[dict]) -> dict[str, pd.DataFrame]:
    """Scores over seeds and paired differences between variants.

    Returns
    -------
    dict
        ``units``: one row per unit and tier (``macro_f1``, ``overall_accuracy``);
        ``scores``: per variant, model and tier the mean, sd, 95 % interval and n over
        seeds; ``regions``: tier-4 macro F1 per variant, model and region (mean over
        seeds); ``crop_change``: tier-4 macro F1 on parcels whose crop changed from the
        year before and on stable ones (``parcels``), mean and interval over seeds,
        where the data knows the previous crops; ``classes``: tier-4 F1 per class (rows)
        and variant and model (columns), mean over seeds; ``differences``: per compared
        pair, tier and model (or variant, for a pair of models), the paired difference
        (first minus second, seed by seed), its interval and ``verdict``
        (``reproduced``, ``contradicted``, ``inconclusive``), on all test pixels
        (``parcels`` = ``all``) and, at tier 4, on ``changed`` and ``stable`` parcels;
        ``decoding``: for hierarchical models, per variant, model and tier, macro F1 with
        the heads decoded jointly and each head's own argmax, the paired difference
        (joint minus independent) with its verdict, and the share of pixels whose
        independent answers nest (``independent_agreement``, mean over seeds).
    """
    rows = []
    for result in results:
        unit, info = result["unit"], result.get("info", {})
        facts = {k: info.get(k) for k in ("seconds", "epochs", "stopped_by")}
        for tier, scores in result["tiers"].items():
            rows.append({**unit, "tier": tier, **scores, **facts})
    table = pd.DataFrame(rows)
    scores = []
    for (variant, model, tier), part in table.groupby(["variant", "model", "tier"], sort=False):
        stats = mean_interval(part["macro_f1"])
        scores.append({"variant": variant, "model": model, "tier": tier, **stats})
    change = pd.DataFrame(
        [
            {**r["unit"], "tier": "tier4", "parcels": name, **scores}
            for r in results
            for name, scores in r.get("crop_change", {}).items()
        ]
    )
    crop_change = []
    if len(change):
        for (variant, model, parcels), part in change.groupby(
            ["variant", "model", "parcels"], sort=False
        ):
            stats = mean_interval(part["macro_f1"])
            pixels = int(part["pixels"].mean())
            crop_change.append(
                {"variant": variant, "model": model, "parcels": parcels, "pixels": pixels, **stats}
            )
    region_rows = [
        {**r["unit"], "region": region, "macro_f1": f1}
        for r in results
        for region, f1 in r["regions"].items()
    ]
    regions = pd.DataFrame(region_rows)
    if len(regions):
        regions = regions.groupby(["variant", "model", "region"], sort=False)["macro_f1"].mean()
        regions = regions.reset_index()
    differences = []
    tiers = [t for t in TIERS if t in set(table["tier"])]
    scored = [("all", table, tier) for tier in tiers]
    if len(change):
        scored += [(name, part, "tier4") for name, part in change.groupby("parcels", sort=False)]
    for first, second in spec.compare:
        by_model = first in spec.models  # two models on every variant, else two variants
        for other in spec.variants if by_model else spec.models:
            if not by_model and _one_training(spec, first, second, other):
                continue  # the model reads the same inputs in both: no difference to judge
            for parcels, part, tier in scored:
                if by_model:
                    a, b = (_seed_scores(part, other, m, tier) for m in (first, second))
                else:
                    a, b = (_seed_scores(part, v, other, tier) for v in (first, second))
                if not (len(a) and len(a) == len(b)):
                    continue  # a subset some unit lacks
                out = paired_difference(a, b)
                out["verdict"] = VERDICTS[out["verdict"]]
                row = {"first": first, "second": second, "tier": tier, "parcels": parcels}
                row.update({"variant": other} if by_model else {"model": other})
                differences.append({**row, **out})
    class_rows = [
        {**r["unit"], "class": name, "f1": f1}
        for r in results
        for name, f1 in r.get("classes", {}).items()
    ]
    classes = pd.DataFrame(class_rows)
    if len(classes):
        classes = classes.pivot_table(
            index="class", columns=["variant", "model"], values="f1", aggfunc="mean"
        )
    return {
        "units": table,
        "scores": pd.DataFrame(scores),
        "regions": regions,
        "crop_change": pd.DataFrame(crop_change),
        "classes": classes,
        "differences": pd.DataFrame(differences),
        "decoding": _decoding(results),
    }


def _one_training(spec: StudySpec, first: str, second: str, model: str) -> bool:
    """Whether ``model`` trains the same way in variants ``first`` and ``second``."""
    return unit_recipe(spec, Unit(first, model, 0)) == unit_recipe(spec, Unit(second, model, 0))


def _decoding(results: list[dict]) -> pd.DataFrame:
    """Joint decoding against each head's own argmax, per variant, model and tier."""
    rows = [
        {
            **r["unit"],
            "tier": tier,
            "joint": r["tiers"][tier]["macro_f1"],
            "independent": f1,
            "agreement": r["independent"]["tier_agreement"].get("all"),
        }
        for r in results
        if "independent" in r
        for tier, f1 in r["independent"]["macro_f1"].items()
    ]
    if not rows:
        return pd.DataFrame()
    out = []
    keys = ["variant", "model", "tier"]
    for key, part in pd.DataFrame(rows).groupby(keys, sort=False):
        part = part.sort_values("seed")
        joint, independent = (part[c].to_numpy(dtype=float) for c in ("joint", "independent"))
        diff = paired_difference(joint, independent)
        out.append(
            {
                **dict(zip(keys, key)),
                "joint": joint.mean(),
                "independent": independent.mean(),
                "difference": diff["mean"],
                "low": diff["low"],
                "high": diff["high"],
                "verdict": VERDICTS[diff["verdict"]],
                "independent_agreement": part["agreement"].mean(),
            }
        )
    return pd.DataFrame(out)


def time_capped(tables: dict[str, pd.DataFrame]) -> list[str]:
    """The units whose deep model the time cap stopped before its epochs (reported)."""
    units = tables.get("units")
    if units is None or "stopped_by" not in units:
        return []
    capped = units[units["stopped_by"].isin(["time_budget", "time_cap"])].drop_duplicates(
        ["variant", "model", "seed"]
    )
    return [f"{r.variant}__{r.model}__seed{r.seed}" for r in capped.itertuples()]


def _seed_scores(table: pd.DataFrame, variant: str, model: str, tier: str) -> np.ndarray:
    part = table[
        (table["variant"] == variant) & (table["model"] == model) & (table["tier"] == tier)
    ]
    return part.sort_values("seed")["macro_f1"].to_numpy(dtype=float)
