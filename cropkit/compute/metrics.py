"""Classification metrics per taxonomy tier, with scikit-learn underneath.

Overall accuracy hides the small classes: a map that gets wheat and maize right scores
well while missing every rare crop. Macro F1 (the unweighted mean of per-class F1) is
the headline; overall accuracy, Cohen's kappa, per-class precision/recall/F1 and the
confusion matrix come along. Tier-4 predictions are rolled up through the taxonomy
and scored again at every coarser tier.

Macro averages run over the classes present in the reference (``y_true``): a class
with no reference pixel cannot be scored, and a class the model never predicts scores
0 and pulls the average down.

Examples
--------
>>> report = classification_report(["a", "a", "b"], ["a", "b", "b"])
>>> round(report.macro_f1, 3)
0.667
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from ..core.errors import DataError
from ..core.taxonomy import TIERS, Taxonomy, load_taxonomy

__all__ = [
    "ClassificationReport",
    "classification_report",
    "tier_reports",
    "tier_summary",
    "mean_interval",
    "paired_difference",
]


@dataclass
class ClassificationReport:
    """Scores of one set of predictions against a reference.

    Attributes
    ----------
    overall_accuracy, kappa, macro_precision, macro_recall, macro_f1, weighted_f1 : float
        Headline numbers (macro over the classes present in the reference).
    per_class : pandas.DataFrame
        Index: class names; columns ``precision``, ``recall``, ``f1``, ``support``.
    confusion : pandas.DataFrame
        Counts; rows are the reference classes, columns the predicted ones.
    """

    overall_accuracy: float
    kappa: float
    macro_precision: float
    macro_recall: float
    macro_f1: float
    weighted_f1: float
    per_class: pd.DataFrame
    confusion: pd.DataFrame

    def headline(self) -> dict[str, float]:
        """The scalar scores as a dict."""
        return {
            "overall_accuracy": self.overall_accuracy,
            "kappa": self.kappa,
            "macro_precision": self.macro_precision,
            "macro_recall": self.macro_recall,
            "macro_f1": self.macro_f1,
            "weighted_f1": self.weighted_f1,
        }

    def to_dict(self) -> dict:
        """Everything as plain JSON-ready values."""
        return {
            **{k: round(v, 6) for k, v in self.headline().items()},
            "per_class": {
                name: {
                    k: (int(v) if k == "support" else round(float(v), 6)) for k, v in row.items()
                }
                for name, row in self.per_class.iterrows()
            },
            "confusion": {
                "classes": list(self.confusion.index),
                "counts": self.confusion.to_numpy().tolist(),
            },
        }


def classification_report(y_true, y_pred, classes: list[str] | None = None) -> ClassificationReport:
    """Score predictions against a reference.

    Parameters
    ----------
    y_true, y_pred : array-like
        Class labels (names or indices), dims ``(sample,)``.
    classes : list, optional
        Order of the rows and columns of the confusion matrix; by default the sorted
        union of both label sets.

    Returns
    -------
    ClassificationReport

    Raises
    ------
    DataError
        If the two arrays differ in length or are empty.
    """
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape:
        raise DataError(f"y_true has {y_true.size} labels but y_pred has {y_pred.size}.")
    if y_true.size == 0:
        raise DataError("Nothing to score: no reference labels.")
    classes = list(classes) if classes is not None else sorted(set(y_true) | set(y_pred))
    scored = [c for c in classes if np.any(y_true == c)]
    p, r, f, s = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=classes, zero_division=0
    )
    per_class = pd.DataFrame(
        {"precision": p, "recall": r, "f1": f, "support": s}, index=pd.Index(classes, name="class")
    )
    macro = per_class.loc[scored]
    with warnings.catch_warnings():  # one class only: kappa is undefined, handled below
        warnings.simplefilter("ignore", UserWarning)
        matrix = skm.confusion_matrix(y_true, y_pred, labels=classes)
        kappa = skm.cohen_kappa_score(y_true, y_pred, labels=classes)
    confusion = pd.DataFrame(
        matrix,
        index=pd.Index(classes, name="reference"),
        columns=pd.Index(classes, name="predicted"),
    )
    return ClassificationReport(
        overall_accuracy=float(skm.accuracy_score(y_true, y_pred)),
        kappa=float(np.nan_to_num(kappa, nan=1.0 if np.all(y_true == y_pred) else 0.0)),
        macro_precision=float(macro["precision"].mean()),
        macro_recall=float(macro["recall"].mean()),
        macro_f1=float(macro["f1"].mean()),
        weighted_f1=float(np.average(macro["f1"], weights=macro["support"])),
        per_class=per_class,
        confusion=confusion,
    )


def tier_reports(
    y_true_tier4, y_pred_tier4, taxonomy: Taxonomy | None = None
) -> dict[str, ClassificationReport]:
    """Score tier-4 predictions at every tier, rolling both sides up the taxonomy.

    Parameters
    ----------
    y_true_tier4, y_pred_tier4 : array-like of str
        Tier-4 class names, dims ``(sample,)``.
    taxonomy : Taxonomy, optional
        cropkit's table by default.

    Returns
    -------
    dict
        ``"tier4"`` ... ``"tier1"`` -> :class:`ClassificationReport`.
    """
    taxonomy = taxonomy or load_taxonomy()
    out = {}
    for tier in TIERS:
        level = int(tier[-1])
        t = taxonomy.roll_up(np.asarray(y_true_tier4), level)
        p = taxonomy.roll_up(np.asarray(y_pred_tier4), level)
        out[tier] = classification_report(t, p)
    return out


def tier_summary(reports: dict[str, ClassificationReport]) -> pd.DataFrame:
    """One row per tier: classes scored, OA, kappa, macro P/R/F1.

    Returns
    -------
    pandas.DataFrame
        Index: tiers; columns ``classes``, ``overall_accuracy``, ``kappa``,
        ``macro_precision``, ``macro_recall``, ``macro_f1``.
    """
    rows = {
        tier: {"classes": int((r.per_class["support"] > 0).sum()), **r.headline()}
        for tier, r in reports.items()
    }
    table = pd.DataFrame.from_dict(rows, orient="index").drop(columns="weighted_f1")
    table.index.name = "tier"
    return table


def mean_interval(values, confidence: float = 0.95) -> dict[str, float]:
    """Mean of repeated scores (folds, seeds) and its Student-t confidence interval.

    Parameters
    ----------
    values : array-like
        ``(run,)`` scores; NaN values are left out.
    confidence : float
        Coverage of the interval.

    Returns
    -------
    dict
        ``mean``, ``sd`` (sample standard deviation), ``low``, ``high``, ``n``.
    """
    from scipy import stats

    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    n = values.size
    if n == 0:
        raise DataError("No score to summarise.")
    mean = float(values.mean())
    sd = float(values.std(ddof=1)) if n > 1 else float("nan")
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / np.sqrt(n)) if n > 1 else np.nan
    return {"mean": mean, "sd": sd, "low": mean - half, "high": mean + half, "n": int(n)}


def paired_difference(a, b, confidence: float = 0.95) -> dict:
    """``a - b`` run by run (same folds, same seeds), with its interval and a verdict.

    Pairing removes what the runs share (a hard fold is hard for both), so the
    interval is narrower than the two scores' intervals suggest.

    Parameters
    ----------
    a, b : array-like
        ``(run,)`` scores of two models or inputs on the same runs.
    confidence : float
        Coverage of the interval.

    Returns
    -------
    dict
        :func:`mean_interval` of the differences, and ``verdict``: ``"higher"`` or
        ``"lower"`` when the interval excludes 0, else ``"inconclusive"`` (inside the
        noise).
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise DataError(f"Paired scores need the same runs: {a.shape} against {b.shape}.")
    out = mean_interval(a - b, confidence)
    low, high = out["low"], out["high"]
    out["verdict"] = "higher" if low > 0 else "lower" if high < 0 else "inconclusive"
    return out
