"""A study's data: each run's datasets built by the stages (cached in its run folder), pooled.

The stages of notebooks 03 and 04 make each run's composites, parcels, labels, split
and datasets, without the notebooks; a run whose saved datasets hold the same test
zones and patch size is not built again. :func:`study_datasets` pools the runs'
datasets (:func:`cropkit.experiments.pooling.pool_datasets`) and applies the study's
split design.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import xarray as xr

from ..compute import labels as label_layers
from ..compute import splits
from ..core.cluster import memory_budget
from ..core.errors import ConfigError, CropkitError
from ..core.run import RunFolder
from ..datasets import open_dataset
from ..experiments.pooling import pool_datasets, pool_to_store, pooled_bytes, region_holdout
from ..models import model_kind
from .composites import load_composites
from .parameters import MaskingParameters, TrainingParameters
from .parcels import run_parcels
from .training import build_datasets

if TYPE_CHECKING:
    from ..endpoint import RunSource
    from ..experiments.study import StudySpec

__all__ = ["run_datasets", "run_labels", "study_datasets"]

_DATASET = {"pixel": "pixels", "patch": "patches"}


def run_labels(sources: Sequence[RunSource]) -> list[str]:
    """Each run's label in a study: its area's name, or its run folder's where names repeat."""
    names = [source.config.area.name for source in sources]
    if len(set(names)) == len(names):
        return names
    return [source.config.run_dir.name for source in sources]


def run_datasets(
    source: RunSource,
    test_zones: list[str],
    kinds: Sequence[str] = ("pixel",),
    period: str = "month",
    patch_size: int = 32,
    buffer_m: float = 10.0,
) -> dict[str, xr.Dataset]:
    """One run's datasets of the kinds asked for, as notebook 04 makes them (lazily opened).

    Built (composites with notebook 02's default mask, the data's or RPG parcels, each
    marked with its crop change where the previous crops are known, labels, the zone
    hold-out, then both datasets by
    :func:`cropkit.stages.training.build_datasets`) and saved in the run folder unless
    saved datasets hold the same ``test_zones`` (and ``patch_size``) already.
    """
    run = RunFolder.for_config(source.config)
    marked = source.previous_crops is not None  # the data knows each parcel's previous crop
    saved = _saved(run, test_zones, kinds, patch_size, marked)
    if saved is not None:
        return saved
    composites = load_composites(source, run, period=period, mask=MaskingParameters())
    parcels = run_parcels(source, run=run)
    if source.previous_crops is not None:  # scores on parcels whose crop changed
        parcels = label_layers.mark_crop_change(parcels, source.previous_crops)
    layers = label_layers.rasterize_labels(parcels, composites["s2"], buffer_m=buffer_m)
    split = splits.zone_holdout(layers, source.config.grid.zones_frame(), list(test_zones))
    params = TrainingParameters(test_zones=list(test_zones), training={"patch_size": patch_size})
    build_datasets(run, composites, layers, split, params, source.config.seed)  # as notebook 04
    return _saved(run, test_zones, kinds, patch_size, marked)


def _saved(
    run: RunFolder, test_zones, kinds, patch_size: int, marked: bool = False
) -> dict[str, xr.Dataset] | None:
    """The run's saved datasets if they hold ``test_zones`` out (patches of ``patch_size``).

    With ``marked``, only datasets that carry the pixels' crop change.
    """
    try:
        data = {kind: open_dataset(run, _DATASET[kind]) for kind in kinds}
    except CropkitError:  # not made yet, or damaged: made again
        return None
    for kind, ds in data.items():
        if list(ds.attrs.get("test_zones", [])) != list(test_zones):
            return None
        if kind == "patch" and ds.attrs.get("size") != patch_size:
            return None
        if marked and "changed" not in ds:  # saved before crop change was known
            return None
    return data


def study_datasets(
    spec: StudySpec,
    sources: Sequence[RunSource],
    store: Path | str | None = None,
    memory_bytes: int | None = None,
) -> dict[str, xr.Dataset]:
    """The pooled datasets of a study, loaded once, with its split design applied.

    Parameters
    ----------
    spec : StudySpec
        The study (its runs' test zones, period, split design, models).
    sources : sequence of RunSource
        One per run of ``spec.runs``, in order (:func:`cropkit.endpoint.open_source`).
    store : path-like, optional
        Where pooled data larger than ``memory_bytes`` goes (a Zarr store per kind, read
        a batch at a time by training); without it, pooled data is always loaded.
    memory_bytes : int, optional
        What a pooled dataset may take in memory
        (:func:`cropkit.core.cluster.memory_budget` by default).

    Returns
    -------
    dict
        ``{"pixel": ..., "patch": ...}`` for the kinds the study's models read, each with
        a ``region`` coordinate holding the run labels (:func:`run_labels`): in memory,
        or lazily opened from ``store`` when larger than memory.
    """
    labels = run_labels(sources)
    kinds = sorted({model_kind(name) for name in spec.models})
    zones = spec.test_zones
    per_run = {}
    for label, source in zip(labels, sources):
        held = zones.get(label) if isinstance(zones, dict) else zones
        if not held:
            raise ConfigError(f"data.test_zones names no zone for the run {label!r}.")
        per_run[label] = run_datasets(source, list(held), kinds, spec.period)
    pooled = {}
    budget = memory_budget() if memory_bytes is None else memory_bytes
    for kind in kinds:
        parts = {label: per_run[label][kind] for label in labels}
        if store is not None and pooled_bytes(parts) > budget:  # streamed from the store
            data = pool_to_store(parts, store, _DATASET[kind])
        else:
            data = pool_datasets(parts).load()
        if spec.split["design"] == "region_holdout":
            data = region_holdout(data, list(spec.split["test_regions"]))
        elif spec.split["design"] == "temporal_transfer":
            data = region_holdout(data, _runs_of_years(spec, labels, sources))
        pooled[kind] = data
    return pooled


def _runs_of_years(spec: StudySpec, labels: list[str], sources: Sequence[RunSource]) -> list[str]:
    """The labels of the runs a temporal transfer tests on (those of its test years)."""
    years = {label: source.config.year for label, source in zip(labels, sources)}
    tested = [label for label, year in years.items() if year in spec.split["test_years"]]
    if not tested or len(tested) == len(labels):
        raise ConfigError(
            f"A temporal transfer trains on some years and tests on others: test_years "
            f"{spec.split['test_years']} would test {len(tested)} of the runs {years}. "
            "Give runs of both the training and the test years."
        )
    return tested
