"""Notebook 04's stage: the run's training products, named, saved, recorded and opened.

Notebook 04 trains models (:mod:`cropkit.experiments.fit`) on datasets of the run's
composites and parcels; this stage owns what it leaves in the run folder::

    models/<name>/               the model (model.json, weights), its checkpoints
    predictions_<name>.parquet   its test predictions, every tier
    maps/<name>.zarr, .tif       its crop map of the study area, every tier
    metrics.json                 every model's scores

:func:`record_training` saves them and records notebook 04's parameters
(:class:`~cropkit.stages.parameters.TrainingParameters`) in the manifest; notebooks 05 and
06 open them (:func:`trained_models`, :func:`load_trained`, :func:`load_predictions`,
:func:`model_dataset`, :func:`load_map`), for any saved run, and say which notebook to
run when something is missing or was saved by an older cropkit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from ..access.providers import offered_sensors
from ..core.errors import ConfigError, CropkitError, DataError
from ..core.run import RunFolder
from ..core.store import open_zarr, recorded_settings, replacing, write_zarr
from ..core.taxonomy import TIERS
from ..datasets import open_dataset
from .parameters import STUDIES, TRAINING, TrainingParameters, with_defaults

if TYPE_CHECKING:
    from ..config import RunConfig
    from ..experiments.fit import TrainResult

__all__ = [
    "NOTEBOOK",
    "training_inputs",
    "TrainingData",
    "build_datasets",
    "train_models",
    "record_training",
    "save_result",
    "save_map",
    "model_folder",
    "predictions_path",
    "map_path",
    "trained_models",
    "check_trained",
    "load_trained",
    "load_predictions",
    "model_dataset",
    "load_map",
]

#: The notebook that trains and saves the models.
NOTEBOOK = TrainingParameters.notebook


def model_folder(run: RunFolder, name: str) -> Path:
    """``models/<name>``: the saved model, its checkpoints and training log."""
    return Path(run.path) / "models" / name


def predictions_path(run: RunFolder, name: str) -> Path:
    """``predictions_<name>.parquet``: the model's test predictions."""
    return Path(run.path) / f"predictions_{name}.parquet"


def map_path(run: RunFolder, name: str) -> Path:
    """``maps/<name>.zarr``: the model's crop map (a COG per tier beside it)."""
    return Path(run.path) / "maps" / f"{name}.zarr"


def training_inputs(config: RunConfig, inputs: Iterable[str]) -> tuple[list[str], list[str]]:
    """The inputs the models read, and the composites the datasets are made of.

    A sensor of ``inputs`` that the run's provider does not offer (Earth Search has no
    Sentinel-1 or EnMAP) is left out with a note. The datasets carry every sensor the
    provider offers, whatever the models of this run read, so that a later model or
    study (``cropkit train --inputs s2 s1``, the input comparison) finds its stream.

    Returns
    -------
    inputs : list of str
        The offered ``inputs``.
    sensors : list of str
        The composites to load: every sensor the provider offers.

    Warns
    -----
    SensorSkippedWarning
        For each sensor of ``inputs`` left out.

    Raises
    ------
    ConfigError
        For a name that is no sensor.
    """
    provider = config.provider
    kept = offered_sensors(provider, inputs, "the models train")
    return kept, sorted(s for s in ("s2", "s1", "enmap") if s in provider.collections)


@dataclass
class TrainingData:
    """Notebook 04's datasets, saved in the run folder.

    Attributes
    ----------
    pixels : xarray.Dataset
        Every labelled pixel as a time series (loaded; :func:`cropkit.datasets.pixel_dataset`).
    patches : xarray.Dataset
        Patches of the grid for the patch models (:func:`cropkit.datasets.patch_dataset`).
    paths : dict
        ``pixels`` and ``patches`` -> their saved Zarr stores.
    """

    pixels: xr.Dataset
    patches: xr.Dataset
    paths: dict[str, Path]

    @property
    def by_kind(self) -> dict[str, xr.Dataset]:
        """``{"pixel": pixels, "patch": patches}``: the dataset of each kind of model."""
        return {"pixel": self.pixels, "patch": self.patches}


def build_datasets(
    run: RunFolder,
    composites: Mapping[str, xr.Dataset],
    labels: xr.Dataset,
    split: xr.DataArray,
    params: TrainingParameters,
    seed: int,
) -> TrainingData:
    """The pixel and patch datasets of the run, with the folds of the studies, saved.

    Parameters
    ----------
    run : RunFolder
        Where ``datasets/pixels.zarr`` and ``datasets/patches.zarr`` go.
    composites : mapping
        Notebook 03's composites (``s2``, and ``s1``, ``enmap`` where offered).
    labels : xarray.Dataset
        Class indices per tier ``(y, x)`` (:func:`cropkit.compute.labels.rasterize_labels`).
    split : xarray.DataArray
        Split codes ``(y, x)`` (:func:`cropkit.compute.splits.zone_holdout`).
    params : TrainingParameters
        ``training["patch_size"]``, ``studies["folds"]`` and ``studies["block_px"]``.
    seed : int
        Seed of the cross-validation folds.
    """
    from ..compute.folds import block_kfold
    from ..datasets import patch_dataset, pixel_dataset, save_dataset

    training = with_defaults(TRAINING, params.training)
    studies = with_defaults(STUDIES, params.studies)
    folds, block_px = studies["folds"], studies["block_px"]
    kfold = block_kfold(labels, folds, block_px, seed) if folds else None
    s2, s1, enmap = composites["s2"], composites.get("s1"), composites.get("enmap")
    pixels = pixel_dataset(s2, labels, split, s1, enmap, kfold)
    patches = patch_dataset(s2, labels, split, training["patch_size"], s1, enmap=enmap)
    paths = {
        "pixels": save_dataset(pixels, run, "pixels"),
        "patches": save_dataset(patches, run, "patches"),
    }
    return TrainingData(open_dataset(run, "pixels").load(), patches, paths)


def train_models(
    run: RunFolder,
    params: TrainingParameters,
    datasets: Mapping[str, xr.Dataset],
    inputs: Iterable[str],
    seed: int,
) -> dict[str, TrainResult]:
    """Train and score notebook 04's models, with their checkpoints in the run folder.

    Parameters
    ----------
    run : RunFolder
        Deep models keep checkpoints and logs in ``models/<name>/checkpoints``.
    params : TrainingParameters
        The models and the ``training`` budget (epochs, minutes, XGBoost pixels).
    datasets : mapping
        ``{"pixel": pixels, "patch": patches}``.
    inputs : iterable of str
        The streams the models read (those the provider offers).
    seed : int
        Seed of every model.
    """
    from ..experiments.fit import fit_models
    from ..models import check_model_names

    training = with_defaults(TRAINING, params.training)
    return fit_models(
        check_model_names(params.models),
        dict(datasets),
        tuple(inputs),
        checkpoints=lambda name: model_folder(run, name) / "checkpoints",
        epochs=training["epochs"],
        max_minutes=training["train_minutes"],
        max_train_pixels=training["max_train_pixels"],
        seed=seed,
    )


def record_training(
    run: RunFolder,
    config: RunConfig,
    params: TrainingParameters,
    results: Mapping[str, TrainResult],
    crop_maps: Mapping[str, xr.Dataset],
    datasets: Mapping[str, Path],
    studies: Mapping[str, object] | None = None,
) -> dict[str, Path]:
    """Save every model, its predictions and map, and record notebook 04 in the manifest.

    Parameters
    ----------
    run : RunFolder
        The run folder.
    config : RunConfig
        The run (its parameters are recorded with the notebook's).
    params : TrainingParameters
        Notebook 04's parameters, recorded as they are.
    results : mapping
        Model name -> :class:`~cropkit.experiments.fit.TrainResult`.
    crop_maps : mapping
        Model name -> crop map (:func:`cropkit.experiments.inference.predict_zone`).
    datasets : mapping
        Dataset name -> saved path (:func:`cropkit.datasets.save_dataset`).
    studies : mapping, optional
        Study name -> result (leakage report, cross-validation, ...), kept in
        ``metrics.json`` under the study model (``studies["study_model"]``).

    Returns
    -------
    dict
        Product name -> path, as recorded.
    """
    from ..experiments.fit import model_table

    study_model = with_defaults(STUDIES, params.studies)["study_model"]
    products = dict(datasets)
    for name, result in results.items():
        extra = dict(studies or {}) if name == study_model else None
        products.update(save_result(result, run, extra))
        products.update(save_map(crop_maps[name], run, name))
    run.record(
        NOTEBOOK,
        {**params.record(), **config.parameters()},
        products=products,
        metrics=model_table(dict(results)).round(4).to_dict(orient="index"),
    )
    return products


def save_result(result: TrainResult, run: RunFolder, extra: dict | None = None) -> dict[str, Path]:
    """Save a trained model, its test predictions and ``metrics.json`` in the run folder.

    Writes ``models/<name>/`` (the model, and in ``dataset.json`` the settings of the
    saved dataset it was trained on), ``predictions_<name>.parquet`` and
    ``metrics.json`` (one entry per model name, kept across models).

    Parameters
    ----------
    result : TrainResult
        From :func:`cropkit.experiments.fit.fit_and_score`.
    run : cropkit.core.run.RunFolder
        The run folder.
    extra : dict, optional
        More numbers to keep under this model in ``metrics.json`` (leakage report, ...).

    Returns
    -------
    dict
        Product name -> path, ready for :meth:`cropkit.core.run.RunFolder.record`.
    """
    name = result.model.name
    root = Path(run.path)
    model_dir = model_folder(run, name)
    dataset = "patches" if result.model.kind == "patch" else "pixels"
    with replacing(model_dir) as tmp:  # the whole model folder, or none of it
        result.model.save(tmp)
        trained_on = recorded_settings(root / "datasets" / f"{dataset}.zarr")
        (tmp / "dataset.json").write_text(json.dumps({dataset: trained_on}, indent=2))
        if (model_dir / "checkpoints").is_dir():  # written while training: kept with it
            (model_dir / "checkpoints").rename(tmp / "checkpoints")
    predictions = predictions_path(run, name)
    with replacing(predictions) as tmp:
        result.predictions.to_parquet(tmp, index=False)
    metrics_path = root / "metrics.json"
    with run.lock():  # read, add this model, write: one writer at a time
        metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
        metrics[name] = {**result.to_dict(), **(extra or {})}
        with replacing(metrics_path) as tmp:
            tmp.write_text(json.dumps(metrics, indent=2, default=_plain))
    return {f"model_{name}": model_dir, f"predictions_{name}": predictions, "metrics": metrics_path}


def save_map(crop_map: xr.Dataset, run: RunFolder, name: str) -> dict[str, Path]:
    """Write the map as Zarr and as one two-band COG per tier.

    Writes ``<run>/maps/<name>.zarr`` and ``<run>/maps/<name>_<tier>.tif`` (band 1:
    class index, 255 for none; band 2: probability in percent; uint8).

    Returns
    -------
    dict
        Product name -> path, ready for :meth:`cropkit.core.run.RunFolder.record`.
    """
    import rioxarray  # noqa: F401  (registers .rio)

    folder = map_path(run, name).parent
    folder.mkdir(parents=True, exist_ok=True)
    products = {f"map_{name}": write_zarr(crop_map, map_path(run, name), progress=False)}
    for tier in TIERS:
        classes = crop_map[f"class_{tier}"]
        percent = np.rint(crop_map[f"proba_{tier}"].values * 100).astype(np.uint8)
        stack = xr.DataArray(
            np.stack([classes.values.astype(np.uint8), percent]),
            dims=("band", "y", "x"),
            coords={"band": [1, 2], "y": classes["y"], "x": classes["x"]},
        )
        stack = stack.rio.write_crs(crop_map.attrs["crs"]).rio.write_nodata(255)
        path = folder / f"{name}_{tier}.tif"
        with replacing(path) as tmp:
            stack.rio.to_raster(tmp, driver="COG", compress="DEFLATE")
        products[f"map_{name}_{tier}"] = path
    return products


def trained_models(run: RunFolder) -> list[str]:
    """Names of the models notebook 04 saved in ``run`` (in the order trained).

    Raises
    ------
    DataError
        If the run holds no saved model (notebook 04 has not run).
    """
    products = run.manifest().get("products", {})
    names = [k[len("model_") :] for k in products if k.startswith("model_")]
    names = [n for n in names if (model_folder(run, n) / "model.json").exists()]
    if not names:
        raise DataError(
            f"The run {run.path} has no trained model with saved predictions: run notebook "
            f"{NOTEBOOK} for this run first (it saves models/ and predictions_<model>.parquet)."
        )
    return names


def check_trained(run: RunFolder, wanted, allowed: list[str] | None = None) -> list[str]:
    """The model names asked for, checked against those the run holds.

    Parameters
    ----------
    run : RunFolder
        The run folder.
    wanted : str or list of str
        ``"all"`` (every saved model, filtered by ``allowed``) or names.
    allowed : list of str, optional
        The models this analysis can read (e.g. those with attention); a name outside
        it is an error that lists them.
    """
    saved = trained_models(run)
    if wanted == "all":
        usable = [n for n in saved if allowed is None or n in allowed]
        if not usable:
            raise ConfigError(
                f"None of this run's models {saved} can be read here; train one of "
                f"{allowed} in notebook {NOTEBOOK} (models=[...])."
            )
        return usable
    names = [wanted] if isinstance(wanted, str) else wanted
    if (
        not isinstance(names, (list, tuple))
        or not names
        or not all(isinstance(n, str) for n in names)
    ):
        raise ConfigError(f"models must be 'all' or a list of model names, not {wanted!r}.")
    for name in names:
        if allowed is not None and name not in allowed:
            raise ConfigError(f"{name} cannot be read here; the models that can are {allowed}.")
        if name not in saved:
            raise ConfigError(
                f"The run {run.path.name} has no trained {name!r}; it has {saved}. Train it "
                f"with notebook {NOTEBOOK} (models=[...]) or `cropkit train {run.path} "
                f"--model {name}`."
            )
    return names


def load_trained(run: RunFolder, name: str):
    """The saved model ``name`` of the run (on the CPU)."""
    from ..experiments.classifiers import load_model

    folder = model_folder(run, name)
    try:
        return load_model(folder)
    except (KeyError, TypeError, json.JSONDecodeError, RuntimeError) as err:
        raise DataError(
            f"{folder} was saved by an older cropkit and cannot be read ({type(err).__name__}: "
            f"{err}); rerun notebook {NOTEBOOK} for this run to train and save it again."
        ) from err


def load_predictions(run: RunFolder, name: str) -> pd.DataFrame:
    """The test predictions of model ``name`` (one row per test pixel, every tier)."""
    path = predictions_path(run, name)
    if not path.exists():
        raise DataError(f"{path} does not exist: run notebook {NOTEBOOK} for this run first.")
    frame = pd.read_parquet(path)
    needed = {"row", "col", "parcel", "true_tier4", "pred_tier4", "true_tier1", "pred_tier1"}
    if not needed <= set(frame.columns):
        raise DataError(
            f"{path} was saved by an older cropkit (it lacks {sorted(needed - set(frame))}); "
            f"rerun notebook {NOTEBOOK} for this run."
        )
    return frame


def model_dataset(run: RunFolder, model) -> xr.Dataset:
    """The saved dataset a model reads: ``pixels`` for pixel models, ``patches`` else."""
    name = "patches" if model.kind == "patch" else "pixels"
    try:
        ds = open_dataset(run, name)
    except CropkitError:
        raise
    except Exception as err:  # a store from an older version or a damaged one
        raise DataError(
            f"{Path(run.path) / 'datasets' / name}.zarr cannot be opened ({err}); rerun "
            f"notebook {NOTEBOOK} to write it again."
        ) from err
    _check_trained_on(run, model, name)
    return ds


def _check_trained_on(run: RunFolder, model, name: str) -> None:
    """Refuse a dataset rewritten (other streams, samples, zones) since the model was trained."""
    record = model_folder(run, model.name) / "dataset.json"
    if not record.exists():
        return  # saved before cropkit recorded it
    then = json.loads(record.read_text()).get(name)
    now = recorded_settings(run.path / "datasets" / f"{name}.zarr")
    if then is not None and now is not None and then != now:
        changed = sorted(k for k in set(then) | set(now) if then.get(k) != now.get(k))
        raise DataError(
            f"datasets/{name}.zarr was rewritten since {model.name} was trained (it differs in "
            f"{changed}: { {k: then.get(k) for k in changed} } then, "
            f"{ {k: now.get(k) for k in changed} } now); rerun notebook {NOTEBOOK} so that "
            "the models, predictions and maps match the datasets."
        )


def load_map(run: RunFolder, name: str) -> xr.Dataset:
    """The crop map of model ``name`` over the study area (``maps/<name>.zarr``)."""
    path = map_path(run, name)
    if not path.exists():
        raise DataError(f"{path} does not exist: run notebook {NOTEBOOK} for this run first.")
    return open_zarr(path, remedy=f"rerun notebook {NOTEBOOK}")


def _plain(value):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, pd.DataFrame):
        return json.loads(value.to_json(orient="index"))
    return str(value)
