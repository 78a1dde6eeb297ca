"""Notebook 06's stage: where and why the models go wrong, measured and saved.

Each function is one step of the notebook; :class:`ConfusionResults` gathers what the
steps found, and :func:`record_confusion` saves it under the stage's product names and
records notebook 06's parameters (:class:`~cropkit.stages.parameters.ConfusionParameters`)
in the manifest::

    confusion/<table>.parquet, .csv   scores, comparison, most_confused, confusion,
                                      f1_intervals_<model>, areas_<model>, parcels_<model>,
                                      factor_<factor>, explained_errors
    confusion/errors_<model>.tif      error kinds on the grid
    confusion/disagreement_<model>.tif  tiers whose head disagrees (hierarchical models)
    confusion/summary.json            per-model scores, area estimates, McNemar's test
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from ..analysis import area_estimation, confusion, error_analysis
from ..compute.splits import TEST
from ..core.errors import ConfigError
from ..core.run import RunFolder
from ..datasets import dataset_taxonomy, open_dataset
from ..experiments.inference import sample_probabilities
from .composites import load_composites
from .outputs import save_grid, save_summary, save_tables
from .parameters import ConfusionParameters
from .parcels import trained_parcels
from .training import check_trained, load_map, load_predictions, load_trained, model_dataset

if TYPE_CHECKING:
    from ..config import RunConfig
    from ..endpoint import RunSource

__all__ = [
    "NOTEBOOK",
    "ConfusionResults",
    "check_pair",
    "read_predictions",
    "tier_confusions",
    "parcel_scores",
    "f1_intervals",
    "area_estimates",
    "error_maps",
    "error_factors",
    "explained_errors",
    "compare_models",
    "record_confusion",
]

#: The notebook of this stage.
NOTEBOOK = ConfusionParameters.notebook


@dataclass
class ConfusionResults:
    """What notebook 06 read and measured, model by model.

    Attributes
    ----------
    models : dict
        Model name -> trained model.
    predictions : dict
        Model name -> its test predictions (one row per test pixel, every tier).
    pair : list of str
        The two models McNemar's test compares (empty for a single model).
    pixels : xarray.Dataset
        ``valid`` and ``parcel`` of the saved pixel dataset (grid rows and columns).
    """

    models: dict
    predictions: dict[str, pd.DataFrame]
    pair: list[str]
    pixels: xr.Dataset
    confusions: dict = field(default_factory=dict)
    most_confused: pd.DataFrame | None = None
    parcels: dict[str, pd.DataFrame] = field(default_factory=dict)
    scores: pd.DataFrame | None = None
    intervals: dict[str, pd.DataFrame] = field(default_factory=dict)
    areas: dict = field(default_factory=dict)
    errors: dict[str, np.ndarray] = field(default_factory=dict)
    disagreement: dict[str, np.ndarray] = field(default_factory=dict)
    factors: dict[str, pd.DataFrame] = field(default_factory=dict)
    explained: pd.DataFrame | None = None
    comparison: pd.DataFrame | None = None
    mcnemar: dict | None = None
    grid_like: xr.Dataset | None = None
    pixel_factors: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """The models read, in the order trained."""
        return list(self.predictions)

    def factors_of(self, name: str) -> pd.DataFrame:
        """Model ``name``'s test pixels with their error factors (computed once)."""
        if name not in self.pixel_factors:
            frame = self.predictions[name]
            self.pixel_factors[name] = error_analysis.pixel_factors(frame, self.pixels)
        return self.pixel_factors[name]

    @property
    def hierarchical(self) -> dict[str, bool]:
        """Model name -> whether it answers every tier with a head of its own."""
        return {name: bool(model.hierarchical) for name, model in self.models.items()}

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table measured, under its product name."""
        tables = {
            "scores": self.scores,
            "comparison": self.comparison.astype(float) if self.comparison is not None else None,
            "most_confused": self.most_confused,
            "confusion": confusion.long_confusions(self.confusions) if self.confusions else None,
            "explained_errors": self.explained,
        }
        for name in self.names:
            tables[f"f1_intervals_{name}"] = self.intervals.get(name)
            tables[f"areas_{name}"] = getattr(self.areas.get(name), "table", None)
            tables[f"parcels_{name}"] = self.parcels.get(name)
        tables.update({f"factor_{f}": t for f, t in self.factors.items()})
        return {name: table for name, table in tables.items() if table is not None}


def check_pair(compare, names: list[str]) -> list[str]:
    """Two models of ``names`` to compare (the first two when ``compare`` is empty).

    Returns an empty list when the run holds a single model (nothing to compare).
    """
    if isinstance(compare, str) or not isinstance(compare, (list, tuple)):
        raise ConfigError(f"compare must be a list of two model names, not {compare!r}.")
    if not compare:
        return list(names[:2]) if len(names) >= 2 else []
    if len(compare) != 2 or compare[0] == compare[1]:
        raise ConfigError(f"compare must name two different models, not {list(compare)}.")
    missing = [n for n in compare if n not in names]
    if missing:
        raise ConfigError(f"compare names {missing}, which are not among the models read: {names}.")
    return list(compare)


def read_predictions(run: RunFolder, params: ConfusionParameters) -> ConfusionResults:
    """The models asked for, their test predictions and the pixels they were scored on."""
    names = check_trained(run, params.models)
    pair = check_pair(params.compare, names)
    models = {name: load_trained(run, name) for name in names}
    predictions = {name: load_predictions(run, name) for name in names}
    pixels = open_dataset(run, "pixels")[["valid", "parcel"]].load()
    return ConfusionResults(models, predictions, pair, pixels)


def tier_confusions(results: ConfusionResults, top_pairs: int) -> pd.DataFrame:
    """Confusion counts per model, tier and source, and the most confused pairs of each."""
    taxonomy = dataset_taxonomy(results.pixels)  # the one notebook 04 labelled with
    hierarchical = results.hierarchical
    for name, frame in results.predictions.items():
        results.confusions[name] = confusion.tier_confusions(frame, taxonomy, hierarchical[name])
    results.most_confused = pd.concat(
        {
            (name, tier, source): confusion.most_confused(counts, top_pairs)
            for name in results.names
            for (tier, source), counts in results.confusions[name].items()
        },
        names=["model", "tier", "source", None],
    ).droplevel(-1)
    return results.most_confused


def parcel_scores(run: RunFolder, results: ConfusionResults) -> pd.DataFrame:
    """Each model's parcel votes (probabilities summed per parcel), pixel and parcel scores."""
    for name, model in results.models.items():
        probabilities = sample_probabilities(model, model_dataset(run, model), TEST)
        frame = results.predictions[name]
        proba, classes = confusion.aligned_probabilities(frame, probabilities)
        results.parcels[name] = confusion.parcel_predictions(frame, proba, classes)
    results.scores = pd.concat(
        {
            n: confusion.pixel_and_parcel_scores(results.predictions[n], results.parcels[n])
            for n in results.names
        }
    )
    return results.scores


def f1_intervals(results: ConfusionResults, n_boot: int, seed: int) -> dict[str, pd.DataFrame]:
    """Per-class and macro F1 with bootstrap intervals (parcels resampled), per model."""
    for name, f in results.predictions.items():
        results.intervals[name] = confusion.bootstrap_f1(
            f["true_tier4"], f["pred_tier4"], f["parcel"], n_boot=n_boot, seed=seed
        )
    return results.intervals


def area_estimates(run: RunFolder, results: ConfusionResults, sample: int, seed: int) -> dict:
    """Stratified area estimates and area-weighted accuracy of each model's crop map."""
    pixels = results.pixels
    for name in results.names:
        crop_map = load_map(run, name)["class_tier4"]
        counts, mapped = area_estimation.area_sample(
            results.predictions[name],
            crop_map.values,
            crop_map.attrs["classes"],
            pixels["row"].values,
            pixels["col"].values,
            sample,
            seed,
        )
        results.areas[name] = area_estimation.stratified_estimates(
            counts, mapped, pixel_area_ha=0.01
        )
    return results.areas


@dataclass
class ErrorMaps:
    """The test zone's window of the grid, the Sentinel-2 composite and the parcel ids.

    Attributes
    ----------
    window : tuple of slice
        Rows and columns of the grid around the test pixels.
    s2 : xarray.Dataset
        Notebook 03's Sentinel-2 composite (a background for the maps).
    parcels : numpy.ndarray
        ``(y, x)`` parcel ids of the window (0: none).
    """

    window: tuple[slice, slice]
    s2: xr.Dataset
    parcels: np.ndarray


def error_maps(source: RunSource, run: RunFolder, results: ConfusionResults) -> ErrorMaps:
    """Error kinds of every model on the grid, and the hierarchical heads' disagreement."""
    s2 = load_composites(source, run, ["s2"])["s2"]
    results.grid_like = s2
    pixels, shape = results.pixels, tuple(results.pixels.attrs["shape"])
    rows, cols = pixels["row"].values, pixels["col"].values
    window = error_analysis.test_window(results.predictions[results.names[0]])
    for name, f in results.predictions.items():
        kinds = error_analysis.error_kinds(f)
        results.errors[name] = error_analysis.to_grid(kinds, f["row"], f["col"], shape, 255)
        if results.hierarchical[name]:
            parents = results.models[name].spec.parents
            results.disagreement[name] = error_analysis.tier_disagreement(
                load_map(run, name), parents
            )
    parcels = error_analysis.to_grid(pixels["parcel"].values, rows, cols, shape, 0)
    return ErrorMaps(window, s2, parcels[window])


def error_factors(results: ConfusionResults, model: str | None = None) -> dict:
    """Accuracy of ``model`` (the first) by factor: cloud, parcel size, border distance."""
    factors = results.factors_of(model or results.names[0])
    results.factors = {
        factor: error_analysis.accuracy_by(factors[factor], factors["correct"], bins, factor)
        for factor, bins in error_analysis.FACTOR_BINS.items()
    }
    return results.factors


def explained_errors(
    source: RunSource, run: RunFolder, results: ConfusionResults
) -> pd.DataFrame | None:
    """Errors explained by false declarations and stressed parcels, where there is a truth."""
    if source.truth is None:
        return None
    checked = trained_parcels(source, run)  # as notebook 04 read them
    explained = {}
    for name, frame in results.predictions.items():
        flags = error_analysis.truth_flags(frame, checked["ID_PARCEL"], source.truth)
        correct = results.factors_of(name)["correct"]
        explained[name] = error_analysis.explained_errors(correct, flags)
    results.explained = pd.concat(explained)
    return results.explained


def compare_models(results: ConfusionResults) -> pd.DataFrame:
    """Every model side by side, and McNemar's test on the parcels of the pair."""
    results.comparison = confusion.compare_models(
        results.predictions, results.parcels, results.intervals, results.areas
    )
    if results.pair:
        first, second = results.pair
        a = results.parcels[first]
        b = results.parcels[second].loc[a.index]
        test = confusion.mcnemar(a["vote"] == a["true"], b["vote"] == b["true"])
        results.mcnemar = {"models": list(results.pair), **test}
    return results.comparison


def record_confusion(
    run: RunFolder, config: RunConfig, params: ConfusionParameters, results: ConfusionResults
) -> dict[str, Path]:
    """Save notebook 06's tables, grids and summary; record it in the manifest."""
    products = save_tables(run, "confusion", results.tables())
    grids = {f"errors_{n}": (g, 255) for n, g in results.errors.items()}
    grids.update({f"disagreement_{n}": (g, -1) for n, g in results.disagreement.items()})
    for key, (grid, nodata) in grids.items():
        products[f"confusion_{key}"] = save_grid(
            run, "confusion", key, grid, results.grid_like, nodata
        )
    comparison = results.comparison
    summary = {
        "models": {n: comparison.loc[n].to_dict() for n in results.names},
        "area_estimates": {n: results.areas[n].to_dict() for n in results.names},
        "mcnemar": results.mcnemar,
    }
    products["confusion_summary"] = save_summary(run, "confusion", summary)
    run.record(
        NOTEBOOK,
        {**config.parameters(), **params.record()},
        products=products,
        metrics={
            n: {k: round(float(v), 4) for k, v in comparison.loc[n].items()} for n in results.names
        },
    )
    return products
