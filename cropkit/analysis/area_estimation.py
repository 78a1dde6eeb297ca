"""Area-weighted accuracy and class areas with confidence intervals (Olofsson et al. 2014).

A confusion matrix of pixel counts says how a map errs on its reference sample; it
does not say how much of each crop the region holds. When the reference sample is
drawn per *map class* (a stratified sample, the strata being the mapped classes), the
estimators of Olofsson, Foody, Herold, Stehman, Woodcock and Wulder (2014, *Good
practices for estimating area and assessing accuracy of land change*, Remote Sensing
of Environment 148, 42-57) turn the counts into area proportions

``p_ij = W_i n_ij / n_i.``

(``W_i`` the mapped share of class ``i``, ``n_ij`` sample counts, map class in rows,
reference class in columns), and from them the overall, user's and producer's
accuracies and an error-adjusted area for every class, each with a standard error
(equations 2-10 of the paper). The 95 % intervals are ``1.96`` standard errors.

Examples
--------
>>> est = stratified_estimates([[8, 2], [1, 9]], mapped_pixels=[600, 400], pixel_area_ha=0.01)
>>> round(est.overall_accuracy, 3)
0.84
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core.errors import DataError
from .confusion import confusion_counts

__all__ = ["AreaEstimates", "stratified_estimates", "area_sample", "Z95"]

#: Standard-normal quantile of a two-sided 95 % interval.
Z95 = 1.96


@dataclass
class AreaEstimates:
    """Stratified accuracy and area estimates.

    Attributes
    ----------
    overall_accuracy, overall_accuracy_se : float
        Area-weighted overall accuracy and its standard error.
    table : pandas.DataFrame
        One row per class: ``mapped_ha`` (pixel counting), ``area_ha`` and
        ``area_ci95_ha`` (error-adjusted area and the half-width of its 95 % interval),
        ``proportion`` and ``proportion_se``, ``users_accuracy`` and
        ``users_ci95``, ``producers_accuracy`` and ``producers_ci95``, ``sample``
        (reference pixels drawn in that map class).
    proportions : pandas.DataFrame
        The estimated area proportions ``p_ij`` (map class rows, reference columns).
    """

    overall_accuracy: float
    overall_accuracy_se: float
    table: pd.DataFrame
    proportions: pd.DataFrame

    @property
    def overall_accuracy_ci95(self) -> float:
        """Half-width of the 95 % interval of the overall accuracy."""
        return Z95 * self.overall_accuracy_se

    def to_dict(self) -> dict:
        """JSON-ready: the overall accuracy with its interval and the per-class table."""
        return {
            "overall_accuracy": round(self.overall_accuracy, 6),
            "overall_accuracy_ci95": round(self.overall_accuracy_ci95, 6),
            "classes": json_table(self.table),
        }


def json_table(table: pd.DataFrame) -> dict:
    """A table as ``{row: {column: value}}`` with NaN as None (JSON has no NaN)."""
    clean = table.astype(object).where(table.notna(), None)
    return {str(k): dict(v) for k, v in clean.to_dict(orient="index").items()}


def stratified_estimates(
    counts,
    mapped_pixels,
    pixel_area_ha: float = 0.01,
    classes: list[str] | None = None,
) -> AreaEstimates:
    """Olofsson et al. (2014) estimators for a sample stratified by map class.

    Parameters
    ----------
    counts : array-like or pandas.DataFrame
        ``(map class, reference class)`` sample counts ``n_ij``, the same classes in
        the same order on both axes (a DataFrame's index gives the names).
    mapped_pixels : array-like
        ``(map class,)`` pixels of each class in the map (the strata sizes).
    pixel_area_ha : float
        Area of one pixel in hectares (0.01 for a 10 m pixel, 0.09 for Landsat).
    classes : list of str, optional
        Class names (by default the DataFrame's index, else ``0 .. K-1``).

    Returns
    -------
    AreaEstimates

    Raises
    ------
    DataError
        If the shapes disagree, a count is negative, or no stratum holds two sample
        pixels (no variance can be estimated).

    Notes
    -----
    A map class with one sample pixel or none contributes no variance term (the
    estimator needs ``n_i. >= 2``) and its user's accuracy is undefined (NaN). The
    reference class of a pixel must be known without error; pixels of the sample are
    assumed independent, which neighbouring pixels of one parcel are not: sample
    parcels, or few pixels per parcel, to keep the intervals honest.
    """
    if isinstance(counts, pd.DataFrame):
        classes = classes or [str(c) for c in counts.index]
        counts = counts.to_numpy()
    n = np.asarray(counts, dtype=float)
    mapped = np.asarray(mapped_pixels, dtype=float).ravel()
    if n.ndim != 2 or n.shape[0] != n.shape[1]:
        raise DataError(f"The counts must be a square (map x reference) matrix, not {n.shape}.")
    if mapped.size != n.shape[0]:
        raise DataError(
            f"{mapped.size} mapped-pixel counts for {n.shape[0]} classes: give one per map class."
        )
    if (n < 0).any() or (mapped < 0).any():
        raise DataError("Counts and mapped pixels cannot be negative.")
    if mapped.sum() <= 0:
        raise DataError("The map holds no pixel of these classes: nothing to weight by.")
    classes = list(classes) if classes is not None else [str(i) for i in range(n.shape[0])]
    n_i = n.sum(axis=1)  # sample size per stratum
    if not (n_i >= 2).any():
        raise DataError("No map class holds two reference pixels: no variance can be estimated.")
    weights = mapped / mapped.sum()  # W_i
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n_i[:, None] > 0, n / n_i[:, None], 0.0)  # n_ij / n_i.
        p = weights[:, None] * share  # eq. 4
        p_col = p.sum(axis=0)  # p_.j
        diag = np.diag(p)
        users = np.where(n_i > 0, np.diag(share), np.nan)  # eq. 2
        producers = np.where(p_col > 0, diag / p_col, np.nan)  # eq. 3
        overall = float(diag.sum())  # eq. 1
        dof = np.where(n_i >= 2, n_i - 1, np.inf)  # strata of one pixel add no term
        var_users = users * (1 - users) / dof  # eq. 6
        var_overall = float(np.nansum(weights**2 * users * (1 - users) / dof))  # eq. 5
        var_p = ((weights**2)[:, None] * share * (1 - share) / dof[:, None]).sum(axis=0)  # eq. 10
        var_producers = _producers_variance(n, n_i, mapped, users, producers, dof)  # eq. 7
    total_ha = mapped.sum() * pixel_area_ha
    table = pd.DataFrame(
        {
            "mapped_ha": mapped * pixel_area_ha,
            "area_ha": p_col * total_ha,  # eq. 8-9
            "area_ci95_ha": Z95 * np.sqrt(var_p) * total_ha,
            "proportion": p_col,
            "proportion_se": np.sqrt(var_p),
            "users_accuracy": users,
            "users_ci95": Z95 * np.sqrt(var_users),
            "producers_accuracy": producers,
            "producers_ci95": Z95 * np.sqrt(var_producers),
            "sample": n_i.astype(int),
        },
        index=pd.Index(classes, name="class"),
    )
    proportions = pd.DataFrame(
        p, index=pd.Index(classes, name="map"), columns=pd.Index(classes, name="reference")
    )
    return AreaEstimates(overall, float(np.sqrt(var_overall)), table, proportions)


def _producers_variance(n, n_i, mapped, users, producers, dof) -> np.ndarray:
    """Variance of the producer's accuracies, equation 7 of Olofsson et al. (2014).

    ``N_j`` (estimated reference pixels of class ``j``) = ``sum_i N_i n_ij / n_i.``.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n_i[:, None] > 0, n / n_i[:, None], 0.0)
        n_ref = (mapped[:, None] * share).sum(axis=0)  # N_.j
        out = np.full(n.shape[0], np.nan)
        for j in range(n.shape[0]):
            if n_ref[j] <= 0:
                continue
            first = mapped[j] ** 2 * (1 - producers[j]) ** 2 * users[j] * (1 - users[j]) / dof[j]
            first = 0.0 if not np.isfinite(first) else first
            others = np.arange(n.shape[0]) != j
            second = producers[j] ** 2 * np.sum(
                mapped[others] ** 2 * share[others, j] * (1 - share[others, j]) / dof[others]
            )
            out[j] = (first + second) / n_ref[j] ** 2
    return out


def area_sample(
    frame: pd.DataFrame,
    mapped,
    classes,
    study_rows,
    study_cols,
    per_class: int = 0,
    seed: int = 0,
) -> tuple[pd.DataFrame, np.ndarray]:
    """A reference sample stratified by map class, for :mod:`cropkit.analysis.area_estimation`.

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
