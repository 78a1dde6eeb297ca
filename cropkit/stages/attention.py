"""Notebook 05's stage: what the trained models attend to, read, scored and saved.

Each function is one step of the notebook; :class:`AttentionResults` gathers what the
steps found, and :func:`record_attention` saves it under the stage's product names and
records notebook 05's parameters (:class:`~cropkit.stages.parameters.AttentionParameters`)
in the manifest::

    attention/<model>.zarr              labelled attention (temporal, channel, spatial, ...)
    attention/<model>_gradients.zarr    Integrated Gradients
    attention/<table>.parquet, .csv     under_cloud, channels_<model>, rank_agreement_<model>,
                                        channels_under_cloud_<model>, truth_peaks, pair_peaks
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import xarray as xr

from ..analysis import attention as attn
from ..analysis import attribution, pairs
from ..core.run import RunFolder
from ..datasets import open_dataset
from .outputs import save_arrays, save_tables
from .parameters import AttentionParameters
from .training import check_trained, load_trained, model_dataset, trained_models

if TYPE_CHECKING:
    from ..config import RunConfig
    from ..endpoint import RunSource

__all__ = [
    "NOTEBOOK",
    "AttentionResults",
    "read_attention",
    "phenology",
    "channel_gates",
    "explain",
    "truth_peaks",
    "pair_probes",
    "record_attention",
]

#: The notebook of this stage.
NOTEBOOK = AttentionParameters.notebook


@dataclass
class AttentionResults:
    """What notebook 05 read and found, model by model.

    Attributes
    ----------
    models : dict
        Model name -> trained model (the attention models asked for).
    datasets : dict
        Model name -> the saved dataset it reads (pixels or patches).
    attention : dict
        Model name -> labelled attention (:func:`cropkit.analysis.attention.extract_attention`).
    channels, cloud_channels : dict
        Model name -> mean channel gate per class, and by interpolated share (models
        with a channel gate).
    under_cloud : pandas.DataFrame or None
        Attention on observed against interpolated dates, per model and class.
    gradients : dict
        Model name -> Integrated Gradients ``(sample, time, band)``.
    agreement : dict
        Model name -> rank agreement of its attention and gradients per class.
    peaks : pandas.DataFrame or None
        The attention and gradient peaks scored against the truth (simulated data).
    pair_peaks : pandas.DataFrame or None
        The pair probes' peaks scored against the truth (:func:`pair_probes`).
    """

    models: dict
    datasets: dict
    attention: dict[str, xr.Dataset]
    channels: dict[str, pd.DataFrame] = field(default_factory=dict)
    cloud_channels: dict[str, pd.DataFrame] = field(default_factory=dict)
    under_cloud: pd.DataFrame | None = None
    gradients: dict[str, xr.DataArray] = field(default_factory=dict)
    agreement: dict[str, pd.DataFrame] = field(default_factory=dict)
    peaks: pd.DataFrame | None = None
    pair_peaks: pd.DataFrame | None = None

    @property
    def names(self) -> list[str]:
        """The attention models read, in the order trained."""
        return list(self.attention)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table found, under its product name (``channels_<model>``, ...)."""
        tables = {"under_cloud": self.under_cloud} if self.under_cloud is not None else {}
        tables.update({f"channels_{n}": t for n, t in self.channels.items()})
        tables.update({f"channels_under_cloud_{n}": t for n, t in self.cloud_channels.items()})
        tables.update({f"rank_agreement_{n}": t for n, t in self.agreement.items()})
        if self.peaks is not None:
            tables["truth_peaks"] = self.peaks
        if self.pair_peaks is not None:
            tables["pair_peaks"] = self.pair_peaks
        return tables


def read_attention(run: RunFolder, params: AttentionParameters) -> AttentionResults:
    """Load the run's attention models and read their attention on the test samples."""
    names = check_trained(run, params.models, attn.attention_models())
    models = {name: load_trained(run, name) for name in names}
    datasets = {name: model_dataset(run, model) for name, model in models.items()}
    limit = {"pixel": params.max_samples, "patch": params.max_patches}
    attention = {
        name: attn.extract_attention(model, datasets[name], max_samples=limit[model.kind])
        for name, model in models.items()
    }
    return AttentionResults(models, datasets, attention)


@dataclass
class Phenology:
    """Temporal attention per class beside the classes' NDVI and crop calendars."""

    ndvi: xr.DataArray
    classes: list[str]
    stages: pd.DataFrame
    profiles: dict[str, xr.DataArray]
    times: object


def phenology(run: RunFolder, results: AttentionResults, classes: list[str]) -> Phenology:
    """Mean temporal attention per class and model, NDVI quartiles, the classes shown.

    ``classes`` empty: the eight classes with most test pixels.
    """
    pixels = open_dataset(run, "pixels")
    first = results.attention[results.names[0]]
    shown = list(classes) or attn.frequent_classes(first, 8)
    profiles = {name: attn.class_profiles(a) for name, a in results.attention.items()}
    return Phenology(
        attn.ndvi_by_class(pixels), shown, attn.key_stages(shown), profiles, pixels["time"].values
    )


def channel_gates(results: AttentionResults) -> str | None:
    """Channel gates per class and under cloud, attention on observed dates (into ``results``).

    Returns the line saying which model to add when no model of the run has a gate.
    """
    for name, att in results.attention.items():
        if "channel" in att:
            results.channels[name] = attn.channel_by_class(att)
            results.cloud_channels[name] = attn.channels_under_cloud(att)
    results.under_cloud = pd.concat(
        {n: attn.attention_on_observed(a) for n, a in results.attention.items()}
    )
    return attn.missing_attention(results.attention, "channel")


def explain(run: RunFolder, results: AttentionResults, params: AttentionParameters) -> str | None:
    """Integrated Gradients of every deep model of the run, and their agreement with attention.

    Fills ``results.gradients`` and ``results.agreement``; returns how to install captum
    when it is missing (nothing is explained then), else None.
    """
    missing = attribution.captum_missing()
    if params.attribution_samples and not missing:
        for name in attribution.deep_models(trained_models(run)):
            model, data, samples = _to_explain(run, results, params, name)
            results.gradients[name] = attribution.integrated_gradients(
                model, data, max_samples=samples, n_steps=params.attribution_steps
            )
    for name, gradients in results.gradients.items():
        if name in results.attention:
            temporal = attn.class_profiles(results.attention[name]).mean("head")
            profile = attribution.attribution_profiles(gradients)
            results.agreement[name] = attribution.rank_agreement(temporal, profile)
    return missing


def _to_explain(run: RunFolder, results: AttentionResults, params: AttentionParameters, name: str):
    """A deep model of the run, its dataset and how many samples to explain.

    Patches hold many pixels: a 32nd as many of them as pixels.
    """
    model = results.models.get(name) or load_trained(run, name)
    data = results.datasets.get(name)
    data = data if data is not None else model_dataset(run, model)
    per_patch = -(-params.attribution_samples // 32)
    return model, data, params.attribution_samples if model.kind == "pixel" else per_patch


def truth_peaks(
    source: RunSource,
    results: AttentionResults,
    found: Phenology,
    params: AttentionParameters,
    seed: int,
) -> pd.DataFrame | None:
    """Attention and gradient peaks against when look-alike crops really differ.

    None where the data has no truth (a real provider).
    """
    pairs = attribution.lookalike_pairs(results.attention[results.names[0]]["tier4"].values)
    separation = source.canopy_separation(pairs, found.times, seed=seed)
    if separation is None:
        return None
    temporal = {name: p.mean("head") for name, p in found.profiles.items()}
    gradients = {n: attribution.attribution_profiles(g) for n, g in results.gradients.items()}
    results.peaks = attribution.truth_scores(separation, temporal, gradients, params.top_dates)
    return results.peaks


def pair_probes(
    run: RunFolder,
    source: RunSource,
    results: AttentionResults,
    found: Phenology,
    params: AttentionParameters,
    seed: int,
    tolerance: int = 1,
) -> pd.DataFrame | None:
    """Per pair of look-alike crops, where each model's pair probes peak against the truth.

    The probes (:mod:`cropkit.analysis.pairs`): the contrast of the two classes'
    temporal attention (attention models), and Integrated Gradients of their logit
    difference (every deep model explained by :func:`explain`). A hit: the peak falls
    within ``tolerance`` periods of the period where the two simulated canopies separate
    most. None where the data has no truth.
    """
    classes = results.attention[results.names[0]]["tier4"].values if results.names else []
    wanted = attribution.lookalike_pairs(classes)
    separation = source.canopy_separation(wanted, found.times, seed=seed)
    if separation is None:
        return None
    probes: dict[tuple[str, str], dict] = {}
    for name, profile in found.profiles.items():
        temporal = profile.mean("head")
        present = set(temporal["class"].values)
        probes[(name, "attention")] = {
            pair: pairs.attention_contrast(temporal, *pair).values
            for pair in wanted
            if set(pair) <= present
        }
    for name in results.gradients:  # the deep models explain() explained
        model, data, samples = _to_explain(run, results, params, name)
        probes[(name, "gradients")] = {
            pair: pairs.pair_gradients(
                model, data, *pair, max_samples=samples, n_steps=params.attribution_steps
            ).values
            for pair in wanted
            if set(pair) <= set(results.gradients[name]["tier4"].values)
        }
    results.pair_peaks = pairs.pair_peaks(separation, probes, tolerance)
    return results.pair_peaks


def record_attention(
    run: RunFolder, config: RunConfig, params: AttentionParameters, results: AttentionResults
) -> dict[str, Path]:
    """Save notebook 05's products and record it (with the truth scores) in the manifest."""
    products = {}
    for name, att in results.attention.items():
        products[f"attention_{name}"] = save_arrays(run, "attention", name, att)
    for name, gradients in results.gradients.items():
        products[f"attributions_{name}"] = save_arrays(
            run, "attention", f"{name}_gradients", gradients.to_dataset()
        )
    products.update(save_tables(run, "attention", results.tables()))
    peaks = results.peaks
    summary = attribution.peak_summary(peaks) if peaks is not None else pd.DataFrame()
    pair_rates = (
        pairs.pair_hit_rates(results.pair_peaks)
        if results.pair_peaks is not None
        else pd.DataFrame()
    )
    run.record(
        NOTEBOOK,
        {**config.parameters(), **params.record()},
        products=products,
        metrics={
            "truth_peaks": summary.round(4).reset_index().to_dict(orient="records"),
            "pair_hit_rates": pair_rates.round(4).reset_index().to_dict(orient="records"),
        },
    )
    return products
