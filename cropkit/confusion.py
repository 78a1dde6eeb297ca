"""Where and why a crop map errs: confusion per tier, parcels, intervals, error maps.

The functions read the test predictions of notebook 04 (one row per test pixel, see
:func:`cropkit.train.predictions_frame`) and give the tables of notebook 06:

- confusion matrices at every tier, from the roll-up of tier-4 predictions and from a
  hierarchical model's own heads, row-normalised, with the most confused pairs;
- parcel predictions by majority vote and by mean probability (the level an agency
  reports), scored beside the pixel level;
- per-class and macro F1 with bootstrap intervals that resample *parcels*: pixels of
  one field are not independent, and resampling them gives intervals far too narrow;
- the McNemar test of two models on the same test parcels;
- what each error is (right, wrong within the crop family, wrong family) and what it
  goes with (clear observations, interpolated dates, parcel size, distance to the
  border, and on the demo false declarations and stressed parcels).

Area-weighted accuracy and class areas live in :mod:`cropkit.area_estimation`.
Everything here is pure compute on arrays and frames; notebook 06 does the I/O.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import ndimage, stats
from sklearn import metrics as skm

from .errors import DataError
from .metrics import classification_report
from .taxonomy import TIERS, Taxonomy

__all__ = [
    "ERROR_KINDS",
    "confusion_counts",
    "row_normalised",
    "most_confused",
    "tier_confusions",
    "parcel_predictions",
    "pixel_and_parcel_scores",
    "bootstrap_f1",
    "mcnemar",
    "error_kinds",
    "to_grid",
    "border_distance",
    "accuracy_by",
    "explained_errors",
    "tier_disagreement",
    "pixel_factors",
    "FACTOR_BINS",
    "truth_flags",
    "area_sample",
    "aligned_probabilities",
    "test_window",
    "compare_models",
]

#: Bins of :func:`pixel_factors`' columns for :func:`accuracy_by`.
FACTOR_BINS = {
    "clear_observations": [-0.5, 2.5, 4.5, 6.5, 8.5, 10.5, 12.5, 366],
    "interpolated_share": [-0.01, 0.1, 0.25, 0.5, 1.0],
    "parcel_ha": [0, 1, 2, 5, 10, np.inf],
    "border_px": [0, 1, 2, 3, 5, np.inf],
}

#: Codes of :func:`error_kinds` (and of the error map), in order.
ERROR_KINDS = ("correct", "wrong, same family", "wrong family")


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
        :func:`cropkit.metrics.classification_report` does.
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


def error_kinds(frame: pd.DataFrame) -> np.ndarray:
    """0 right, 1 wrong within the same tier-2 family, 2 wrong family, per pixel."""
    _require(frame, ["true_tier4", "pred_tier4", "true_tier2", "pred_tier2"])
    right = frame["true_tier4"].to_numpy() == frame["pred_tier4"].to_numpy()
    family = frame["true_tier2"].to_numpy() == frame["pred_tier2"].to_numpy()
    return np.where(right, 0, np.where(family, 1, 2)).astype(np.uint8)


def to_grid(values, rows, cols, shape: tuple[int, int], fill=np.nan) -> np.ndarray:
    """Place ``(sample,)`` values at ``(rows, cols)`` of a ``shape`` grid."""
    values = np.asarray(values)
    dtype = np.result_type(values.dtype, fill)  # a Python scalar fill keeps uint8 as uint8
    out = np.full(shape, fill, dtype=dtype)
    out[np.asarray(rows), np.asarray(cols)] = values
    return out


def border_distance(parcel: np.ndarray) -> np.ndarray:
    """Distance of every pixel to the nearest pixel of another parcel (pixels).

    Parameters
    ----------
    parcel : numpy.ndarray
        ``(y, x)`` parcel ids, 0 outside parcels.

    Returns
    -------
    numpy.ndarray
        ``(y, x)`` float32: 1 on a parcel's edge pixels, else one more than the
        Euclidean distance (pixels) to the nearest edge pixel; 0 outside parcels.
    """
    parcel = np.asarray(parcel)
    edge = np.zeros(parcel.shape, dtype=bool)
    edge[1:] |= parcel[1:] != parcel[:-1]
    edge[:-1] |= parcel[:-1] != parcel[1:]
    edge[:, 1:] |= parcel[:, 1:] != parcel[:, :-1]
    edge[:, :-1] |= parcel[:, :-1] != parcel[:, 1:]
    edge |= parcel == 0
    return np.where(parcel > 0, ndimage.distance_transform_edt(~edge) + 1, 0).astype(np.float32)


def accuracy_by(values, correct, bins, label: str) -> pd.DataFrame:
    """Share of correct pixels per bin of a pixel property.

    Parameters
    ----------
    values : array-like
        ``(sample,)`` the property (clear observations, parcel size, ...).
    correct : array-like of bool
        ``(sample,)`` whether the pixel was classified right.
    bins : sequence
        Bin edges (see :func:`pandas.cut`; right-closed).
    label : str
        Name of the property, used as the index name.

    Returns
    -------
    pandas.DataFrame
        Index the bins; ``pixels``, ``accuracy`` and ``share_of_errors``.
    """
    frame = pd.DataFrame({"bin": pd.cut(np.asarray(values), bins), "ok": np.asarray(correct)})
    groups = frame.groupby("bin", observed=False)["ok"]
    errors = (~frame["ok"]).sum()
    out = pd.DataFrame(
        {
            "pixels": groups.size(),
            "accuracy": groups.mean(),
            "share_of_errors": groups.agg(lambda s: (~s).sum()) / max(int(errors), 1),
        }
    )
    out.index = out.index.astype(str)
    out.index.name = label
    return out


def explained_errors(correct, flags: pd.DataFrame) -> pd.DataFrame:
    """How much of the error pixels carrying a known flag explain.

    Parameters
    ----------
    correct : array-like of bool
        ``(sample,)`` whether each pixel was classified right.
    flags : pandas.DataFrame
        ``(sample,)`` boolean columns, e.g. ``false_declaration`` and ``stressed``.

    Returns
    -------
    pandas.DataFrame
        One row per flag and one for pixels with none: ``pixels``, ``share_of_pixels``,
        ``accuracy``, ``share_of_errors`` (of all wrong pixels, those with the flag).
    """
    ok = np.asarray(correct, dtype=bool)
    wrong = max(int((~ok).sum()), 1)
    masks = {name: flags[name].to_numpy(dtype=bool) for name in flags.columns}
    masks["none of these"] = ~np.logical_or.reduce([*masks.values(), np.zeros_like(ok)])
    rows = {}
    for name, mask in masks.items():
        rows[name] = {
            "pixels": int(mask.sum()),
            "share_of_pixels": float(mask.mean()),
            "accuracy": float(ok[mask].mean()) if mask.any() else np.nan,
            "share_of_errors": float((~ok & mask).sum() / wrong),
        }
    return pd.DataFrame(rows).T.astype({"pixels": int})


def tier_disagreement(crop_map, parents: dict) -> np.ndarray:
    """Per pixel, how many coarser tiers a hierarchical model's heads answer differently.

    Parameters
    ----------
    crop_map : xarray.Dataset
        From :func:`cropkit.inference.predict_zone`: ``class_tier1`` ... ``class_tier4``.
    parents : dict
        Tier -> ``(n_tier4,)`` parent index of every tier-4 class (``model.spec.parents``).

    Returns
    -------
    numpy.ndarray
        ``(y, x)`` 0-3 (float32).
    """
    tier4 = crop_map["class_tier4"].values.astype(int)
    out = np.zeros(tier4.shape, dtype=np.float32)
    for tier in (t for t in TIERS if t != "tier4"):
        rolled = np.asarray(parents[tier])[tier4]
        out += crop_map[f"class_{tier}"].values != rolled
    return out


def pixel_factors(frame: pd.DataFrame, pixels) -> pd.DataFrame:
    """What each test pixel's error may go with, from the pixel dataset.

    Parameters
    ----------
    frame : pandas.DataFrame
        Test predictions (``row``, ``col``, ``parcel``, ``true_tier4``, ``pred_tier4``).
    pixels : xarray.Dataset
        Notebook 04's pixel dataset (every labelled pixel of the study area, with the
        ``valid`` provenance flags and the ``shape`` of the grid).

    Returns
    -------
    pandas.DataFrame
        Aligned with ``frame``: ``correct``, ``clear_observations`` (observed dates),
        ``interpolated_share`` (share of dates the gap filling made), ``parcel_ha``
        (labelled area of the pixel's parcel) and ``border_px`` (distance to the
        labelled parcel's edge, :func:`border_distance`).
    """
    shape = tuple(pixels.attrs["shape"])
    rows, cols = pixels["row"].values, pixels["col"].values
    valid = pixels["valid"].values
    clear = to_grid(valid.sum(axis=1), rows, cols, shape, -1)
    interpolated = to_grid(1 - valid.mean(axis=1), rows, cols, shape)
    parcel = to_grid(pixels["parcel"].values, rows, cols, shape, 0)
    sizes = np.bincount(parcel.ravel()) * 0.01  # 10 m pixels: 0.01 ha
    r, c = frame["row"].to_numpy(), frame["col"].to_numpy()
    return pd.DataFrame(
        {
            "correct": frame["true_tier4"].to_numpy() == frame["pred_tier4"].to_numpy(),
            "clear_observations": clear[r, c],
            "interpolated_share": interpolated[r, c],
            "parcel_ha": sizes[parcel[r, c]],
            "border_px": border_distance(parcel)[r, c],
        },
        index=frame.index,
    )


def truth_flags(frame: pd.DataFrame, parcel_ids, truth: pd.DataFrame) -> pd.DataFrame:
    """Per test pixel, what the demo knows of its parcel.

    Parameters
    ----------
    frame : pandas.DataFrame
        Test predictions with ``parcel`` (the label raster's parcel number: row of the
        checked parcels + 1).
    parcel_ids : array-like
        ``ID_PARCEL`` of the checked parcels, in their order.
    truth : pandas.DataFrame
        :meth:`cropkit.demo.DemoData.truth`.

    Returns
    -------
    pandas.DataFrame
        Aligned with ``frame``: boolean ``false_declaration`` and ``stressed``.
    """
    ids = np.asarray(parcel_ids)[frame["parcel"].to_numpy() - 1]
    known = truth.set_index("ID_PARCEL").reindex(ids)
    return pd.DataFrame(
        {
            "false_declaration": known["false_declaration"].fillna(False).to_numpy(dtype=bool),
            "stressed": known["stressed"].fillna(False).to_numpy(dtype=bool),
        },
        index=frame.index,
    )


def area_sample(
    frame: pd.DataFrame,
    mapped,
    classes,
    study_rows,
    study_cols,
    per_class: int = 0,
    seed: int = 0,
) -> tuple[pd.DataFrame, np.ndarray]:
    """A reference sample stratified by map class, for :mod:`cropkit.area_estimation`.

    The strata are the map's tier-4 classes over the study area's labelled (declared
    cropland) pixels; the reference sample is drawn from the held-out test pixels,
    ``per_class`` per map class at random (all test pixels when 0).

    Parameters
    ----------
    frame : pandas.DataFrame
        Test predictions (``row``, ``col``, ``true_tier4``).
    mapped : numpy.ndarray
        ``(y, x)`` tier-4 class index of the map.
    classes : list of str
        Names of the map's class indices.
    study_rows, study_cols : array-like
        The pixels whose map classes make the strata (e.g. every labelled pixel).
    per_class : int
        Reference pixels drawn per map class (0: every test pixel).
    seed : int
        Seed of the draw.

    Returns
    -------
    counts : pandas.DataFrame
        Map class (rows) x reference class (columns) sample counts, same classes on
        both axes.
    mapped_pixels : numpy.ndarray
        Pixels of each of those classes in the map's strata.
    """
    names = np.asarray(classes)
    strata = names[mapped[np.asarray(study_rows), np.asarray(study_cols)]]
    map_class = names[mapped[frame["row"].to_numpy(), frame["col"].to_numpy()]]
    picked = np.arange(len(frame))
    if per_class:
        rng = np.random.default_rng(seed)
        picked = np.concatenate(
            [
                rng.permutation(np.flatnonzero(map_class == c))[:per_class]
                for c in np.unique(map_class)
            ]
        )
    reference = frame["true_tier4"].to_numpy()[picked]
    present = sorted(set(strata) | set(reference) | set(map_class[picked]))
    counts = confusion_counts(map_class[picked], reference, present)
    counts.index.name, counts.columns.name = "map", "reference"
    mapped_pixels = pd.Series(strata).value_counts().reindex(present, fill_value=0).to_numpy()
    return counts, mapped_pixels


def aligned_probabilities(frame: pd.DataFrame, probabilities: pd.DataFrame):
    """Probabilities in the row order of ``frame``, matched by grid cell.

    Parameters
    ----------
    frame : pandas.DataFrame
        Test predictions (``row``, ``col``).
    probabilities : pandas.DataFrame
        From :func:`cropkit.inference.sample_probabilities`: ``row``, ``col`` and one
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


def test_window(frame: pd.DataFrame, margin: int = 2) -> tuple[slice, slice]:
    """Rows and columns of the grid that hold the test pixels (plus a margin)."""
    r, c = frame["row"].to_numpy(), frame["col"].to_numpy()
    return (
        slice(max(int(r.min()) - margin, 0), int(r.max()) + margin + 1),
        slice(max(int(c.min()) - margin, 0), int(c.max()) + margin + 1),
    )


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
        Model -> :class:`cropkit.area_estimation.AreaEstimates`.

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
