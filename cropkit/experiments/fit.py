"""Train, score and save models by name; compare splits, folds and inputs.

The functions take a pixel or patch dataset (:mod:`cropkit.datasets`) whose ``split``
variable says which samples train, validate and test, and a model name from
:mod:`cropkit.models`: the XGBoost baseline and the deep models go through the same
path. Scores are per tier (:mod:`cropkit.compute.metrics`), tier-4 predictions rolled up the
taxonomy.

Examples
--------
>>> result = fit_and_score("xgboost", ds)                     # doctest: +SKIP
>>> result.summary().loc["tier4", "macro_f1"]                 # doctest: +SKIP
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from ..compute.metrics import ClassificationReport, classification_report, tier_summary
from ..compute.splits import TEST, TRAIN, VAL
from ..core.errors import DataError
from ..core.taxonomy import TIERS, Taxonomy
from ..datasets import check_taxonomy, class_names, select_split
from ..models import Classifier, check_model_names, model_config, model_inputs, model_kind
from ..models.hierarchy import tier_agreement
from .classifiers import get_model

if TYPE_CHECKING:
    pass

__all__ = [
    "TrainResult",
    "fit_and_score",
    "fit_models",
    "budget_settings",
    "model_table",
    "per_class_f1",
    "scored_pixels",
    "predictions_frame",
]


@dataclass
class TrainResult:
    """A trained model with its test predictions and scores.

    Attributes
    ----------
    model : Classifier
        The fitted model (see :class:`cropkit.models.Classifier`).
    predictions : pandas.DataFrame
        One row per test sample (see :func:`predictions_frame`).
    reports : dict
        Tier -> :class:`~cropkit.compute.metrics.ClassificationReport` on the test samples.
    info : dict
        Training facts: pixels, features, seconds, device, best iteration.
    """

    model: Classifier
    predictions: pd.DataFrame
    reports: dict[str, ClassificationReport]
    info: dict = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """Per-tier headline scores (see :func:`cropkit.compute.metrics.tier_summary`)."""
        return tier_summary(self.reports)

    def to_dict(self) -> dict:
        """Model settings, training facts and every tier's scores, JSON-ready."""
        return {
            "model": self.model.name,
            "tier": "tier4",
            "inputs": list(self.model.inputs),
            "info": self.info,
            "test": {tier: report.to_dict() for tier, report in self.reports.items()},
        }


def scored_pixels(ds: xr.Dataset, predicted: np.ndarray) -> tuple[xr.Dataset, np.ndarray]:
    """Labelled pixels of a pixel or patch dataset with their predictions, as samples.

    Parameters
    ----------
    ds : xarray.Dataset
        Pixel dataset ``(sample, ...)`` or patch dataset ``(patch, ..., h, w)``.
    predicted : numpy.ndarray
        Tier-4 class indices, ``(sample,)`` or ``(patch, h, w)``.

    Returns
    -------
    pixels : xarray.Dataset
        ``tier4`` ... ``tier1``, ``parcel``, ``split``, ``row``, ``col`` ``(sample,)``;
        the pixels of a patch dataset whose tier-4 label is known, row and column on
        the zone grid.
    predicted : numpy.ndarray
        ``(sample,)``, aligned with ``pixels``.
    """
    if "patch" not in ds.dims:
        return ds, np.asarray(predicted)
    labelled = ds["tier4"].values >= 0  # (patch, h, w)
    p, h, w = np.nonzero(labelled)
    carried = (*TIERS, "parcel", *(["changed"] if "changed" in ds else []))
    data = {name: ("sample", ds[name].values[p, h, w]) for name in carried}
    data["split"] = ("sample", ds["split"].values[p])
    coords = {
        "row": ("sample", (ds["row0"].values[p] + h).astype(np.int32)),
        "col": ("sample", (ds["col0"].values[p] + w).astype(np.int32)),
    }
    if "region" in ds.coords:  # a pooled dataset (cropkit.experiments.pooling)
        coords["region"] = ("sample", ds["region"].values[p])
    pixels = xr.Dataset(data, coords=coords, attrs=ds.attrs)
    return pixels, np.asarray(predicted)[p, h, w]


def predictions_frame(
    ds: xr.Dataset,
    predicted: np.ndarray,
    taxonomy: Taxonomy | None = None,
    tiers: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Reference and predicted classes of every tier, per pixel.

    Parameters
    ----------
    ds : xarray.Dataset
        The scored samples (a pixel dataset, or a patch dataset: see
        :func:`scored_pixels`).
    predicted : numpy.ndarray
        Predicted tier-4 class indices of the dataset's class list (as
        ``model.predict(ds)`` gives them), dims ``(sample,)`` (or ``(patch, h, w)``).
    taxonomy : Taxonomy, optional
        For rolling up to the coarser tiers; the dataset's own by default.
    tiers : dict, optional
        Tier -> predicted class indices of that tier (shaped as ``predicted``), from
        a hierarchical model's own heads; tiers not given come by roll-up.

    Returns
    -------
    pandas.DataFrame
        Columns ``row``, ``col``, ``parcel``, ``split`` (and ``region`` for a pooled
        dataset) and, for each tier, ``true_<tier>`` and ``pred_<tier>`` (class names).
    """
    taxonomy = check_taxonomy(ds, taxonomy)
    tiers = dict(tiers or {})
    own = {tier: scored_pixels(ds, v)[1] for tier, v in tiers.items() if tier != "tier4"}
    ds, predicted = scored_pixels(ds, predicted)
    names = np.asarray(class_names(ds, "tier4"))
    predicted = np.asarray(predicted)
    if predicted.size and (predicted.min() < 0 or predicted.max() >= names.size):
        raise DataError(
            f"Predicted class indices run from {predicted.min()} to {predicted.max()}, but "
            f"the dataset lists {names.size} classes: pass model.predict(ds) for this "
            "dataset (it re-maps a model trained on another class list)."
        )
    true4 = names[ds["tier4"].values]
    pred4 = names[np.asarray(predicted)]
    frame = pd.DataFrame(
        {
            "row": ds["row"].values,
            "col": ds["col"].values,
            "parcel": ds["parcel"].values,
            "split": ds["split"].values,
        }
    )
    if "region" in ds.coords:  # a pooled dataset: scores per region
        frame.insert(0, "region", ds["region"].values)
    if "changed" in ds:  # crop change from the year before: 1 changed, 0 stayed, -1 unknown
        frame["changed"] = ds["changed"].values
    for tier in TIERS:
        level = int(tier[-1])
        frame[f"true_{tier}"] = taxonomy.roll_up(true4, level)
        if tier in own:
            frame[f"pred_{tier}"] = np.asarray(class_names(ds, tier))[own[tier]]
        else:
            frame[f"pred_{tier}"] = taxonomy.roll_up(pred4, level)
    return frame


def _check_kind(model, ds: xr.Dataset) -> None:
    kind = "patch" if "patch" in ds.dims else "pixel"
    if model.kind != kind:
        wanted = "patches" if model.kind == "patch" else "pixels"
        raise DataError(
            f"{model.name} is a {model.kind} model but the dataset holds {kind}s: give it the "
            f"{wanted} dataset (ck.datasets.open_dataset(run, {wanted!r}))."
        )


def fit_and_score(
    model: str | Classifier,
    ds: xr.Dataset,
    inputs: tuple[str, ...] = ("s2",),
    taxonomy: Taxonomy | None = None,
    client=None,
    checkpoint_dir: str | Path | None = None,
    progress: bool = False,
    **hyperparameters,
) -> TrainResult:
    """Train ``model`` on the train side of ``ds``, stop on val, score on test.

    Every registered model goes through here: the XGBoost baseline and the deep models,
    pixel models on a pixel dataset and patch models on a patch dataset (their
    predictions are scored on the labelled pixels of the test patches).

    Parameters
    ----------
    model : str or Classifier
        A registered model's name (see :func:`cropkit.models.model_names`), built with
        ``inputs`` and ``hyperparameters``; or a model built already
        (:func:`~cropkit.experiments.classifiers.get_model`, untrained).
    ds : xarray.Dataset
        Pixel or patch dataset (as the model's ``kind``) with a ``split`` variable.
    inputs : tuple of str
        Streams the model reads (a name only).
    taxonomy : Taxonomy, optional
        For rolling up predictions; the dataset's own by default (the one it was built
        against). Checked against the dataset's classes before training.
    client : distributed.Client, optional
        Train on this dask cluster (models that support it).
    checkpoint_dir : path-like, optional
        Deep models: where their checkpoints and training log go.
    progress : bool
        Deep models: show the progress bar.
    **hyperparameters
        Override the model's config (a name only).

    Returns
    -------
    TrainResult

    Raises
    ------
    DataError
        If the dataset has no train or no test samples, or is of the wrong kind.
    TaxonomyError
        If ``taxonomy`` lacks a class of the dataset (before anything trains).
    """
    taxonomy = check_taxonomy(ds, taxonomy)
    inputs = (inputs,) if isinstance(inputs, str) else tuple(inputs)
    if hyperparameters.get("tier", "tier4") != "tier4":
        raise DataError(
            "fit_and_score trains on tier-4 classes and rolls the predictions up to the "
            f"coarser tiers; drop tier={hyperparameters['tier']!r} (the tier-2 scores are in "
            "result.reports['tier2'])."
        )
    if isinstance(model, str):
        model = get_model(model, inputs=inputs, **hyperparameters)
    elif hyperparameters:
        raise DataError(
            f"{model.name} is built already: give its settings to get_model, not "
            f"{sorted(hyperparameters)} here."
        )
    _check_kind(model, ds)
    train, val, test = (select_split(ds, code) for code in (TRAIN, VAL, TEST))
    dim = "patch" if "patch" in ds.dims else "sample"
    for name, part in (("train", train), ("test", test)):
        if part.sizes[dim] == 0:
            raise DataError(f"The split has no {name} sample; check the split before training.")
    _warn_unseen_classes(train, test)
    options = {"checkpoint_dir": checkpoint_dir, "progress": progress, "client": client}
    model.fit(train, val if val.sizes[dim] else None, **options)
    test = test.load()
    info = dict(model.info)
    tiers = model.predict_tiers(test)  # tier 4, and every tier with a head of its own
    frame = predictions_frame(test, tiers["tier4"], taxonomy, tiers)
    if model.hierarchical:  # the heads' own answers: how often they nest, and their scores
        heads = model.predict_tiers(test, decoding="independent")
        scored = {tier: scored_pixels(test, v)[1] for tier, v in heads.items()}
        info["tier_agreement"] = tier_agreement(scored, model.spec.parents)
        own = predictions_frame(test, heads["tier4"], taxonomy, heads)
        info["independent_macro_f1"] = {
            t: classification_report(own[f"true_{t}"], own[f"pred_{t}"]).macro_f1 for t in TIERS
        }
    reports = {t: classification_report(frame[f"true_{t}"], frame[f"pred_{t}"]) for t in TIERS}
    return TrainResult(model, frame, reports, info)


def _warn_unseen_classes(train: xr.Dataset, test: xr.Dataset) -> None:
    """Warn about tier-4 classes with test pixels but no training pixel."""
    seen = np.unique(train["tier4"].values)
    tested = np.unique(test["tier4"].values)
    missing = [int(c) for c in tested if c >= 0 and c not in seen]
    if missing:
        names = [class_names(test, "tier4")[c] for c in missing]
        warnings.warn(
            f"Classes {names} have test pixels but no training pixel: no model can predict "
            "them, and they score 0 F1. Hold out other zones, or use a larger study area.",
            stacklevel=3,
        )


def budget_settings(
    name: str,
    epochs: int | None = None,
    max_minutes: float | None = None,
    max_train_pixels: int | None = None,
) -> dict:
    """The training-budget overrides that model ``name`` takes.

    Deep models take ``epochs`` and ``max_minutes``; the XGBoost baseline takes
    ``max_train_pixels``. Unset (None or 0) values are left to the model's config.
    """
    deep = "trainer" in model_config(name)
    wanted = (
        {"epochs": epochs, "max_minutes": max_minutes}
        if deep
        else {"max_train_pixels": max_train_pixels}
    )
    return {k: v for k, v in wanted.items() if v is not None and (v or k == "max_train_pixels")}


def fit_models(
    names: list[str] | tuple[str, ...],
    datasets: dict[str, xr.Dataset],
    inputs: tuple[str, ...] = ("s2",),
    checkpoints: Callable[[str], Path] | None = None,
    epochs: int | None = None,
    max_minutes: float | None = None,
    max_train_pixels: int | None = None,
    progress: bool = True,
    seed: int | None = None,
) -> dict[str, TrainResult]:
    """Train and score several models on one split, each on the dataset of its kind.

    Parameters
    ----------
    names : list of str
        Registered models (checked before anything trains).
    datasets : dict
        ``{"pixel": pixels, "patch": patches}``; a patch model needs ``"patch"``.
    inputs : tuple of str
        Streams to read; a model reads those it supports (``utae``: Sentinel-2).
    checkpoints : callable, optional
        Model name -> the folder where a deep model keeps its checkpoints and logs
        (notebook 04: ``models/<name>/checkpoints`` of the run); a temporary one if None.
    epochs, max_minutes : optional
        The training budget of every deep model (most epochs, most minutes).
    max_train_pixels : int, optional
        The XGBoost baseline's training subsample.
    progress : bool
        Progress bars of the deep models.
    seed : int, optional
        Seed of every model (subsampling, initial weights, batch order); by default
        each model's config's.

    Returns
    -------
    dict
        Model name -> :class:`TrainResult` (``info`` holds the training seconds).
    """
    check_model_names(names)  # unknown names fail here, before anything trains
    for name in names:
        kind = model_kind(name)
        if kind not in datasets:
            raise DataError(f"{name} is a {kind} model: give datasets[{kind!r}].")
    results = {}
    for name in names:
        settings = budget_settings(name, epochs, max_minutes, max_train_pixels)
        if seed is not None:
            settings["seed"] = seed
        used = tuple(i for i in inputs if i in model_inputs(name))
        model = get_model(name, inputs=used, **settings)
        folder = checkpoints(name) if checkpoints is not None else None
        started = time.perf_counter()
        results[name] = fit_and_score(
            model, datasets[model.kind], checkpoint_dir=folder, progress=progress
        )
        results[name].info["train_seconds"] = round(time.perf_counter() - started, 1)
    return results


def model_table(results: dict[str, TrainResult]) -> pd.DataFrame:
    """One row per model: macro F1 of every tier, OA and kappa, size and speed.

    Returns
    -------
    pandas.DataFrame
        Index model names; columns ``macro_f1_tier4`` ... ``macro_f1_tier1``,
        ``overall_accuracy``, ``kappa`` (tier 4), ``parameters``, ``train_seconds``,
        ``samples_per_s``, ``epochs`` and ``stopped_by`` (deep models: the epochs run and
        the limit that ended them, see :data:`cropkit.trainer.budget.STOP_REASONS`),
        ``inputs``, and for hierarchical models ``tier_agreement`` (share of test pixels
        whose heads' own answers all nest; the scores are of the jointly decoded answers,
        which always nest) and ``independent_macro_f1_<tier>`` (the heads' own answers
        scored).
    """
    rows = {}
    for name, result in results.items():
        row = {f"macro_f1_{t}": result.reports[t].macro_f1 for t in TIERS}
        row["overall_accuracy"] = result.reports["tier4"].overall_accuracy
        row["kappa"] = result.reports["tier4"].kappa
        for key in ("parameters", "train_seconds", "samples_per_s", "epochs", "stopped_by"):
            row[key] = result.info.get(key)
        row["inputs"] = " + ".join(result.model.inputs)
        row["tier_agreement"] = result.info.get("tier_agreement", {}).get("all")
        for tier, f1 in result.info.get("independent_macro_f1", {}).items():
            row[f"independent_macro_f1_{tier}"] = f1
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def per_class_f1(results: dict[str, TrainResult], tier: str = "tier4") -> pd.DataFrame:
    """F1 per class (rows, classes with test pixels) and model (columns)."""
    columns = {}
    for name, result in results.items():
        table = result.reports[tier].per_class
        columns[name] = table.loc[table["support"] > 0, "f1"]
    return pd.DataFrame(columns)
