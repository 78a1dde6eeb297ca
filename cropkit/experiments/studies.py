"""Studies that train one model several times: leakage, spatial CV, what each sensor adds.

Each retrains through :func:`cropkit.experiments.fit.fit_and_score`, so any registered model fits
(the leakage report and cross-validation split pixels: pixel models).

Examples
--------
>>> ck.studies.leakage_report("xgboost", pixels)                       # doctest: +SKIP
>>> headline, per_class = ck.studies.compare_inputs("attention3dcnn", patches)  # +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..compute.folds import fold_codes
from ..compute.splits import TEST, TRAIN, VAL, random_codes
from ..core.errors import DataError
from ..models import model_inputs
from .fit import TrainResult, fit_and_score

__all__ = ["leakage_report", "cross_validate", "compare_inputs"]


def _with_split(ds: xr.Dataset, split: np.ndarray) -> xr.Dataset:
    dim = "patch" if "patch" in ds.dims else "sample"
    return ds.assign(split=(dim, split.astype(np.int8)))


def _parcels_on_both_sides(ds: xr.Dataset, split: np.ndarray) -> int:
    parcels = ds["parcel"].values
    codes = split.reshape(split.shape + (1,) * (parcels.ndim - split.ndim))
    codes = np.broadcast_to(codes, parcels.shape)
    train, test = parcels[codes == TRAIN], parcels[codes == TEST]
    return int(np.intersect1d(train[train > 0], test[test > 0]).size)


def leakage_report(
    model_name: str,
    ds: xr.Dataset,
    inputs: tuple[str, ...] = ("s2",),
    seed: int = 0,
    spatial: TrainResult | None = None,
    **hyperparameters,
) -> pd.DataFrame:
    """The same model scored on a random pixel split and on the spatial split of ``ds``.

    The random split draws test and validation pixels with the same shares as the
    spatial split, so only *where* the test pixels lie differs. Pixels of one parcel
    on both sides of a random split are near duplicates; its scores are optimistic.

    ``spatial`` is the model already trained on the spatial split of ``ds`` with the
    same settings (notebook 04's): its scores are the spatial row, and only the random
    split is trained. Without it, both are.

    Returns
    -------
    pandas.DataFrame
        Index ``random pixels``, ``spatial``; columns ``overall_accuracy``, ``kappa``,
        ``macro_f1`` (tier 4) and ``parcels_on_both_sides``.
    """
    codes = ds["split"].values
    shuffled = random_codes(codes.shape, np.mean(codes == TEST), np.mean(codes == VAL), seed)
    rows = {}
    for label, split in (("random pixels", shuffled), ("spatial", codes)):
        result = spatial if label == "spatial" and spatial is not None else None
        if result is None:
            result = fit_and_score(
                model_name, _with_split(ds, split), inputs, seed=seed, **hyperparameters
            )
        report = result.reports["tier4"]
        both = _parcels_on_both_sides(ds, split)
        rows[label] = {
            "overall_accuracy": report.overall_accuracy,
            "kappa": report.kappa,
            "macro_f1": report.macro_f1,
            "parcels_on_both_sides": int(both),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def cross_validate(
    model_name: str, ds: xr.Dataset, inputs: tuple[str, ...] = ("s2",), **hyperparameters
) -> pd.DataFrame:
    """Spatial k-fold cross-validation over the ``fold`` variable of ``ds``.

    Round ``i`` tests on fold ``i``, stops early on fold ``i + 1`` and trains on the rest.

    Returns
    -------
    pandas.DataFrame
        One row per fold (``overall_accuracy``, ``kappa``, ``macro_f1`` per tier-4 and
        ``macro_f1_tier2``) plus ``mean`` and ``std`` rows.
    """
    if "fold" not in ds:
        raise DataError("The dataset has no 'fold' variable: build it with folds=block_kfold(...).")
    folds = ds["fold"].values
    k = int(folds.max()) + 1
    rows = {}
    for i in range(k):
        split = fold_codes(folds, i, k)
        result = fit_and_score(model_name, _with_split(ds, split), inputs, **hyperparameters)
        rows[f"fold {i}"] = {
            **{
                k_: result.reports["tier4"].headline()[k_]
                for k_ in ("overall_accuracy", "kappa", "macro_f1")
            },
            "macro_f1_tier2": result.reports["tier2"].macro_f1,
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    return pd.concat([table, table.agg(["mean", "std"])])


def compare_inputs(
    model_name: str,
    ds: xr.Dataset,
    combinations: dict[str, tuple[str, ...]] | None = None,
    **hyperparameters,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train once per input combination: what Sentinel-1 and EnMAP add to Sentinel-2.

    Parameters
    ----------
    model_name : str
        A registered model (pixel or patch, single-head or hierarchical).
    ds : xarray.Dataset
        Pixel or patch dataset (as the model's kind) with the inputs and a ``split``.
    combinations : dict, optional
        Label -> inputs; by default S2, S2+S1, S2+EnMAP and all three, as far as the
        dataset holds them and the model reads them.
    **hyperparameters
        Override the model's config.

    Returns
    -------
    headline : pandas.DataFrame
        One row per combination: tier-4 OA, kappa and macro F1, and the macro F1 of
        tiers 3, 2 and 1 (``macro_f1_tier3`` ...).
    per_class : pandas.DataFrame
        Tier-4 F1 per class (rows) and combination (columns).
    """
    if combinations is None:
        readable = set(model_inputs(model_name))
        candidates = {
            "S2": ("s2",),
            "S2 + S1": ("s2", "s1"),
            "S2 + EnMAP": ("s2", "enmap"),
            "S2 + S1 + EnMAP": ("s2", "s1", "enmap"),
        }
        combinations = {
            label: inputs
            for label, inputs in candidates.items()
            if set(inputs) <= readable and all(stream in ds for stream in inputs)
        }
    heads, per_class = {}, {}
    for label, inputs in combinations.items():
        result = fit_and_score(model_name, ds, inputs, **hyperparameters)
        r4 = result.reports["tier4"]
        heads[label] = {
            "overall_accuracy": r4.overall_accuracy,
            "kappa": r4.kappa,
            "macro_f1": r4.macro_f1,
            **{f"macro_f1_{t}": result.reports[t].macro_f1 for t in ("tier3", "tier2", "tier1")},
        }
        per_class[label] = r4.per_class.loc[r4.per_class["support"] > 0, "f1"]
    return pd.DataFrame.from_dict(heads, orient="index"), pd.DataFrame(per_class)
