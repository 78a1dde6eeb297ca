"""How a crop map errs: confusion per tier, parcels, intervals, model against model.

The functions read the test predictions of notebook 04 (one row per test pixel, see
:func:`cropkit.experiments.fit.predictions_frame`) and give the tables of notebook 06:

- confusion matrices at every tier, from the roll-up of tier-4 predictions and from a
  hierarchical model's own heads, row-normalised, with the most confused pairs;
- parcel predictions by majority vote and by mean probability (the level an agency
  reports), scored beside the pixel level;
- per-class and macro F1 with bootstrap intervals that resample *parcels*: pixels of
  one field are not independent, and resampling them gives intervals far too narrow;
- every model side by side, and the McNemar test of two on the same test parcels.

Where the errors lie and what they go with is :mod:`cropkit.analysis.error_analysis`;
area-weighted accuracy and class areas are :mod:`cropkit.analysis.area_estimation`.
Everything here is pure compute on arrays and frames; notebook 06 does the I/O.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from sklearn import metrics as skm

from ..compute.metrics import classification_report
from ..core.errors import DataError
from ..core.taxonomy import TIERS, Taxonomy

__all__ = [
    "confusion_counts",
    "row_normalised",
    "most_confused",
    "tier_confusions",
    "parcel_predictions",
    "pixel_and_parcel_scores",
    "bootstrap_f1",
    "mcnemar",
    "mcnemar_table",
    "aligned_probabilities",
    "compare_models",
    "long_confusions",
]


def confusion_counts(true, pred, classes: list[str] | None = None) -> pd.DataFrame:
    """Counts of reference (rows) against predicted (columns) classes.

    Parameters
    ----------
    true, pred : array-like
        Class names, dims ``(sample,)``.
    classes : list of str, optional
        Order of rows and columns; by default the sorted union of both.
    """
    true, pred = np.asarray(true), np.asarray(pred)
    classes = list(classes) if classes is not None else sorted(set(true) | set(pred))
    matrix = skm.confusion_matrix(true, pred, labels=classes)
    return pd.DataFrame(
        matrix,
        index=pd.Index(classes, name="reference"),
        columns=pd.Index(classes, name="predicted"),
    )


def row_normalised(counts: pd.DataFrame) -> pd.DataFrame:
    """Each row as shares of its reference pixels (NaN for a class with none)."""
    totals = counts.sum(axis=1)
    return counts.div(totals.where(totals > 0), axis=0)


def most_confused(counts: pd.DataFrame, top: int = 5) -> pd.DataFrame:
    """The off-diagonal cells with the most pixels.

    Returns
    -------
    pandas.DataFrame
        ``reference``, ``predicted``, ``pixels`` and ``share_of_row`` (the share of the
        reference class's pixels that went to that prediction), largest first.
    """
    shares = row_normalised(counts)
    rows = [
        (ref, pred, int(counts.loc[ref, pred]), float(shares.loc[ref, pred]))
        for ref in counts.index
        for pred in counts.columns
        if ref != pred and counts.loc[ref, pred] > 0
    ]
    table = pd.DataFrame(rows, columns=["reference", "predicted", "pixels", "share_of_row"])
    return table.sort_values(["pixels", "share_of_row"], ascending=False).head(top)


def tier_confusions(
    frame: pd.DataFrame, taxonomy: Taxonomy, hierarchical: bool = False
) -> dict[tuple[str, str], pd.DataFrame]:
    """Confusion counts at every tier, by roll-up and (hierarchical models) by heads.

    Parameters
    ----------
    frame : pandas.DataFrame
        Test predictions with ``true_<tier>`` and ``pred_<tier>`` columns.
    taxonomy : Taxonomy
        Rolls tier-4 predictions up.
    hierarchical : bool
        Whether ``pred_tier1`` ... ``pred_tier3`` are the model's own heads (else
        they are the roll-up already and only ``"roll-up"`` is returned).

    Returns
    -------
    dict
        ``(tier, source)`` -> counts, ``source`` being ``"roll-up"`` or ``"heads"``.
    """
    _require(frame, [f"{kind}_{t}" for t in TIERS for kind in ("true", "pred")])
    out = {}
    for tier in TIERS:
        level = int(tier[-1])
        rolled = taxonomy.roll_up(frame["pred_tier4"].to_numpy(), level)
        classes = taxonomy.classes(level)
        out[(tier, "roll-up")] = _present(confusion_counts(frame[f"true_{tier}"], rolled, classes))
        if hierarchical and tier != "tier4":
            counts = confusion_counts(frame[f"true_{tier}"], frame[f"pred_{tier}"], classes)
            out[(tier, "heads")] = _present(counts)
    return out


def _present(counts: pd.DataFrame) -> pd.DataFrame:
    """Drop the classes neither in the reference nor in the predictions."""
    keep = (counts.sum(axis=0) > 0).to_numpy() | (counts.sum(axis=1) > 0).to_numpy()
    return counts.loc[keep, keep]


def _require(frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"The predictions lack the columns {missing}: they were saved by an older "
            "cropkit; rerun notebook 04 to save them again."
        )


def parcel_predictions(
    frame: pd.DataFrame, proba: np.ndarray | None = None, classes: list[str] | None = None
) -> pd.DataFrame:
    """One tier-4 prediction per parcel: majority vote and mean probability.

    Parameters
    ----------
    frame : pandas.DataFrame
        Test predictions: ``parcel``, ``true_tier4``, ``pred_tier4`` per pixel.
    proba : numpy.ndarray, optional
        ``(sample, class)`` tier-4 probabilities aligned with ``frame``'s rows.
    classes : list of str, optional
        Names of ``proba``'s columns (required with ``proba``).

    Returns
    -------
    pandas.DataFrame
        Index ``parcel``; ``true`` (the parcel's reference), ``pixels``, ``vote`` (the
        class most of its pixels got; ties go to the first in name order) and, with
        probabilities, ``mean_proba`` (the class of the highest mean probability).
    """
    _require(frame, ["parcel", "true_tier4", "pred_tier4"])
    groups = frame.groupby("parcel", sort=True)
    out = pd.DataFrame(
        {
            "true": groups["true_tier4"].agg(lambda s: s.value_counts().idxmax()),
            "pixels": groups.size(),
            "vote": groups["pred_tier4"].agg(lambda s: s.value_counts().sort_index().idxmax()),
        }
    )
    if proba is not None:
        proba = np.asarray(proba, dtype=float)
        if classes is None or proba.shape != (len(frame), len(classes)):
            raise DataError(
                f"Probabilities of shape {proba.shape} do not match {len(frame)} pixels "
                f"and {0 if classes is None else len(classes)} class names."
            )
        mean = pd.DataFrame(proba, index=frame["parcel"].to_numpy()).groupby(level=0).mean()
        out["mean_proba"] = np.asarray(classes)[mean.loc[out.index].to_numpy().argmax(axis=1)]
    return out


def pixel_and_parcel_scores(frame: pd.DataFrame, parcels: pd.DataFrame) -> pd.DataFrame:
    """Tier-4 macro F1, overall accuracy and kappa at pixel and parcel level.

    Parameters
    ----------
    frame : pandas.DataFrame
        Test predictions per pixel.
    parcels : pandas.DataFrame
        From :func:`parcel_predictions`.

    Returns
    -------
    pandas.DataFrame
        Rows ``pixel``, ``parcel (vote)`` and ``parcel (mean probability)``; columns
        ``samples``, ``macro_f1``, ``overall_accuracy``, ``kappa``.
    """
    runs = {"pixel": (frame["true_tier4"], frame["pred_tier4"])}
    runs["parcel (vote)"] = (parcels["true"], parcels["vote"])
    if "mean_proba" in parcels:
        runs["parcel (mean probability)"] = (parcels["true"], parcels["mean_proba"])
    rows = {}
    for level, (true, pred) in runs.items():
        report = classification_report(true, pred)
        rows[level] = {
            "samples": len(true),
            "macro_f1": report.macro_f1,
            "overall_accuracy": report.overall_accuracy,
            "kappa": report.kappa,
        }
    return pd.DataFrame(rows).T.astype({"samples": int})


def _f1_from_counts(conf: np.ndarray) -> np.ndarray:
    """Per-class F1 of ``(..., K, K + 1)`` counts (last column: predictions of no class).

    NaN where a class has no reference pixel.
    """
    k = conf.shape[-2]
    tp = np.diagonal(conf[..., :k], axis1=-2, axis2=-1).astype(float)
    support = conf.sum(axis=-1)
    predicted = conf[..., :k].sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = 2 * tp / (support + predicted)
    return np.where(support > 0, np.nan_to_num(f1), np.nan)


def bootstrap_f1(
    true,
    pred,
    groups,
    classes: list[str] | None = None,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Per-class and macro F1 with bootstrap intervals that resample whole parcels.

    Parameters
    ----------
    true, pred : array-like
        Reference and predicted classes, dims ``(sample,)``.
    groups : array-like
        ``(sample,)`` parcel of each pixel: the unit that is resampled.
    classes : list of str, optional
        Classes to report (a class with no reference sample gets NaN and the note
        ``"no test sample"``; a prediction outside them counts as a miss); by default
        those in ``true`` or ``pred``.
    n_boot : int
        Bootstrap replicates.
    level : float
        Coverage of the percentile intervals.
    seed : int
        Seed of the resampling.

    Returns
    -------
    pandas.DataFrame
        Index: the classes and ``macro``; columns ``f1``, ``low``, ``high``,
        ``support`` (reference pixels), ``parcels`` and ``note``. The macro F1 of a
        replicate averages the classes present in that replicate's reference, as
        :func:`cropkit.compute.metrics.classification_report` does.
    """
    true, pred, groups = np.asarray(true), np.asarray(pred), np.asarray(groups)
    if not (true.shape == pred.shape == groups.shape) or true.size == 0:
        raise DataError("true, pred and groups must be non-empty arrays of the same length.")
    if not 0 < level < 1 or int(n_boot) < 1:
        raise DataError(f"level must lie in (0, 1) and n_boot be positive, not {level}, {n_boot}.")
    classes = list(classes) if classes is not None else sorted(set(true) | set(pred))
    k = len(classes)
    index = {c: i for i, c in enumerate(classes)}
    t = np.array([index.get(c, -1) for c in true])
    p = np.array([index.get(c, k) for c in pred])  # k: no class of the list
    keep = t >= 0  # references outside ``classes`` are not scored
    t, p, groups = t[keep], p[keep], groups[keep]
    unit, inverse = np.unique(groups, return_inverse=True)
    per_group = np.zeros((unit.size, k * (k + 1)))
    np.add.at(per_group, (inverse, t * (k + 1) + p), 1)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, unit.size, size=(int(n_boot), unit.size))
    weights = np.stack([np.bincount(d, minlength=unit.size) for d in draws])
    f1 = _f1_from_counts(per_group.sum(0).reshape(k, k + 1))
    f1_boot = _f1_from_counts((weights @ per_group).reshape(-1, k, k + 1))
    alpha = (1 - level) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: absent classes
        low, high = np.nanquantile(f1_boot, [alpha, 1 - alpha], axis=0)
        macro_boot = np.nanmean(f1_boot, axis=1)
        macro = float(np.nanmean(f1))
    support = np.bincount(t, minlength=k)
    table = pd.DataFrame(
        {
            "f1": f1,
            "low": low,
            "high": high,
            "support": support,
            "parcels": [np.unique(groups[t == i]).size for i in range(k)],
            "note": np.where(support == 0, "no test sample", ""),
        },
        index=pd.Index(classes, name="class"),
    )
    table.loc["macro"] = [
        macro,
        float(np.nanquantile(macro_boot, alpha)),
        float(np.nanquantile(macro_boot, 1 - alpha)),
        int(support.sum()),
        int(unit.size),
        "",
    ]
    return table


def mcnemar(correct_a, correct_b) -> dict:
    """McNemar's exact test of two classifiers on the same samples.

    Parameters
    ----------
    correct_a, correct_b : array-like of bool
        ``(sample,)`` whether each model got each sample (parcel) right.

    Returns
    -------
    dict
        ``n``, ``a_only`` (right by A only, ``b`` in McNemar's notation), ``b_only``
        (``c``), ``both``, ``neither``, ``statistic`` (the continuity-corrected
        chi-square, for reference) and ``p_value`` (the exact two-sided binomial test of
        ``b`` in ``b + c`` at 1/2, :func:`scipy.stats.binomtest`).
    """
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape or a.size == 0:
        raise DataError("McNemar needs two equally long, non-empty sets of outcomes.")
    a_only, b_only = int(np.sum(a & ~b)), int(np.sum(~a & b))
    discordant = a_only + b_only
    p_value = stats.binomtest(a_only, discordant, 0.5).pvalue if discordant else 1.0
    statistic = (abs(a_only - b_only) - 1) ** 2 / discordant if discordant else 0.0
    return {
        "n": int(a.size),
        "a_only": a_only,
        "b_only": b_only,
        "both": int(np.sum(a & b)),
        "neither": int(np.sum(~a & ~b)),
        "statistic": float(statistic),
        "p_value": float(p_value),
    }


def mcnemar_table(pair: tuple[str, str] | list[str], result: dict) -> pd.DataFrame:
    """:func:`mcnemar`'s result for models ``pair`` as a one-row table, to show.

    Returns
    -------
    pandas.DataFrame
        Index ``"<a> vs <b>"``; columns ``parcels``, ``<a> only right``, ``<b> only
        right``, ``both right``, ``neither``, ``p_value`` (three decimals) and
        ``differ`` (``p_value < 0.05``).
    """
    a, b = pair
    row = {
        "parcels": result["n"],
        f"{a} only right": result["a_only"],
        f"{b} only right": result["b_only"],
        "both right": result["both"],
        "neither": result["neither"],
        "p_value": round(result["p_value"], 3),
        "differ": result["p_value"] < 0.05,
    }
    return pd.DataFrame([row], index=[f"{a} vs {b}"])


def aligned_probabilities(frame: pd.DataFrame, probabilities: pd.DataFrame):
    """Probabilities in the row order of ``frame``, matched by grid cell.

    Parameters
    ----------
    frame : pandas.DataFrame
        Test predictions (``row``, ``col``).
    probabilities : pandas.DataFrame
        From :func:`cropkit.experiments.inference.sample_probabilities`: ``row``, ``col`` and one
        column per class.

    Returns
    -------
    proba : numpy.ndarray
        ``(sample, class)`` aligned with ``frame``.
    classes : list of str
    """
    classes = [c for c in probabilities.columns if c not in ("row", "col")]
    merged = frame[["row", "col"]].merge(probabilities, on=["row", "col"], how="left")
    if merged[classes].isna().any().any():
        raise DataError(
            "Some test pixels have no probability: the predictions and the dataset differ; "
            "rerun notebook 04 so both come from the same training."
        )
    return merged[classes].to_numpy(dtype=float), classes


def compare_models(
    frames: dict[str, pd.DataFrame],
    parcels: dict[str, pd.DataFrame],
    intervals: dict[str, pd.DataFrame],
    areas: dict | None = None,
) -> pd.DataFrame:
    """Every model side by side: tier macro F1, parcel scores, intervals, area accuracy.

    Parameters
    ----------
    frames : dict
        Model -> test predictions.
    parcels : dict
        Model -> :func:`parcel_predictions`.
    intervals : dict
        Model -> :func:`bootstrap_f1` (tier 4).
    areas : dict, optional
        Model -> :class:`cropkit.analysis.area_estimation.AreaEstimates`.

    Returns
    -------
    pandas.DataFrame
        One row per model.
    """
    rows = {}
    for name, frame in frames.items():
        row = {
            f"{tier}_macro_f1": classification_report(
                frame[f"true_{tier}"], frame[f"pred_{tier}"]
            ).macro_f1
            for tier in TIERS
        }
        row["overall_accuracy"] = float(np.mean(frame["true_tier4"] == frame["pred_tier4"]))
        macro = intervals[name].loc["macro"]
        row.update(macro_f1_low=macro["low"], macro_f1_high=macro["high"])
        scores = pixel_and_parcel_scores(frame, parcels[name])
        row["parcel_vote_macro_f1"] = scores.loc["parcel (vote)", "macro_f1"]
        if "parcel (mean probability)" in scores.index:
            row["parcel_mean_proba_macro_f1"] = scores.loc["parcel (mean probability)", "macro_f1"]
        if areas and name in areas:
            row["area_weighted_accuracy"] = areas[name].overall_accuracy
            row["area_weighted_accuracy_ci95"] = areas[name].overall_accuracy_ci95
        rows[name] = row
    return pd.DataFrame(rows).T


def long_confusions(confusions: dict) -> pd.DataFrame:
    """Every confusion matrix of every model in one long table.

    Parameters
    ----------
    confusions : dict
        Model -> :func:`tier_confusions`.

    Returns
    -------
    pandas.DataFrame
        ``model``, ``tier``, ``source``, ``reference``, ``predicted``, ``pixels`` and
        ``share_of_row``, one row per non-empty cell.
    """
    rows = []
    for name, tiers in confusions.items():
        for (tier, source), counts in tiers.items():
            shares = row_normalised(counts)
            cells = counts.stack()
            cells = cells[cells > 0]
            for (ref, pred), n in cells.items():
                rows.append((name, tier, source, ref, pred, int(n), float(shares.loc[ref, pred])))
    columns = ["model", "tier", "source", "reference", "predicted", "pixels", "share_of_row"]
    return pd.DataFrame(rows, columns=columns)
