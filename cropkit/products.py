"""What notebook 04 leaves in a run folder, opened for the notebooks that read it.

Notebooks 05 (attention) and 06 (confusion) run on their own for any saved run: they
find the trained models in the manifest, load them with their test predictions and
the dataset they were trained on, and say which notebook to run when something is
missing, or that a run saved by an older cropkit must be trained again.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .core.errors import ConfigError, CropkitError, DataError
from .core.run import RunFolder
from .core.store import open_zarr, recorded_settings, replacing, write_zarr
from .datasets import open_dataset

__all__ = [
    "TRAINING",
    "trained_models",
    "check_trained",
    "check_pair",
    "load_trained",
    "load_predictions",
    "model_dataset",
    "training_parameters",
    "load_map",
    "save_tables",
    "save_grid",
    "save_summary",
    "save_arrays",
]

#: The notebook that trains and saves the models.
TRAINING = "04_model_training"


def trained_models(run: RunFolder) -> list[str]:
    """Names of the models notebook 04 saved in ``run`` (in the order trained).

    Raises
    ------
    DataError
        If the run holds no saved model (notebook 04 has not run).
    """
    products = run.manifest().get("products", {})
    names = [k[len("model_") :] for k in products if k.startswith("model_")]
    names = [n for n in names if (run.path / "models" / n / "model.json").exists()]
    if not names:
        raise DataError(
            f"The run {run.path} has no trained model with saved predictions: run notebook "
            f"{TRAINING} for this run first (it saves models/ and predictions_<model>.parquet)."
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
                f"{allowed} in notebook {TRAINING} (models=[...])."
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
                f"with notebook {TRAINING} (models=[...]) or `cropkit train {run.path} "
                f"--model {name}`."
            )
    return names


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


def load_trained(run: RunFolder, name: str):
    """The saved model ``name`` of the run (on the CPU)."""
    from .experiments.classifiers import load_model

    folder = run.path / "models" / name
    try:
        return load_model(folder)
    except (KeyError, TypeError, json.JSONDecodeError, RuntimeError) as err:
        raise DataError(
            f"{folder} was saved by an older cropkit and cannot be read ({type(err).__name__}: "
            f"{err}); rerun notebook {TRAINING} for this run to train and save it again."
        ) from err


def load_predictions(run: RunFolder, name: str) -> pd.DataFrame:
    """The test predictions of model ``name`` (one row per test pixel, every tier)."""
    path = run.path / f"predictions_{name}.parquet"
    if not path.exists():
        raise DataError(f"{path} does not exist: run notebook {TRAINING} for this run first.")
    frame = pd.read_parquet(path)
    needed = {"row", "col", "parcel", "true_tier4", "pred_tier4", "true_tier1", "pred_tier1"}
    if not needed <= set(frame.columns):
        raise DataError(
            f"{path} was saved by an older cropkit (it lacks {sorted(needed - set(frame))}); "
            f"rerun notebook {TRAINING} for this run."
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
            f"notebook {TRAINING} to write it again."
        ) from err
    _check_trained_on(run, model, name)
    return ds


def _check_trained_on(run: RunFolder, model, name: str) -> None:
    """Refuse a dataset rewritten (other streams, samples, zones) since the model was trained."""
    record = run.path / "models" / model.name / "dataset.json"
    if not record.exists():
        return  # saved before cropkit recorded it
    then = json.loads(record.read_text()).get(name)
    now = recorded_settings(run.path / "datasets" / f"{name}.zarr")
    if then is not None and now is not None and then != now:
        changed = sorted(k for k in set(then) | set(now) if then.get(k) != now.get(k))
        raise DataError(
            f"datasets/{name}.zarr was rewritten since {model.name} was trained (it differs in "
            f"{changed}: { {k: then.get(k) for k in changed} } then, "
            f"{ {k: now.get(k) for k in changed} } now); rerun notebook {TRAINING} so that "
            "the models, predictions and maps match the datasets."
        )


def training_parameters(run: RunFolder) -> dict:
    """The parameters notebook 04 ran with ({} if it has not run)."""
    return run.notebook_parameters(TRAINING)


def load_map(run: RunFolder, name: str) -> xr.Dataset:
    """The crop map of model ``name`` over the study area (``maps/<name>.zarr``)."""
    path = run.path / "maps" / f"{name}.zarr"
    if not path.exists():
        raise DataError(f"{path} does not exist: run notebook {TRAINING} for this run first.")
    return open_zarr(path, remedy=f"rerun notebook {TRAINING}")


def _folder(run: RunFolder, stage: str) -> Path:
    folder = run.path / stage
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_tables(run: RunFolder, stage: str, tables: dict[str, pd.DataFrame]) -> dict[str, Path]:
    """Write each table as ``<stage>/<name>.parquet`` and ``.csv``.

    Returns
    -------
    dict
        Product name (``<stage>_<name>``) -> parquet path, for :meth:`RunFolder.record`.
    """
    folder, out = _folder(run, stage), {}
    for name, table in tables.items():
        table = table.copy()
        table.columns = [
            " / ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in table.columns
        ]
        path = folder / f"{name}.parquet"
        with replacing(path) as tmp:
            table.to_parquet(tmp)
        with replacing(path.with_suffix(".csv")) as tmp:
            table.to_csv(tmp)
        out[f"{stage}_{name}"] = path
    return out


def save_grid(run: RunFolder, stage: str, name: str, values, like: xr.Dataset, nodata) -> Path:
    """Write a ``(y, x)`` array on the grid of ``like`` as ``<stage>/<name>.tif`` (COG).

    Parameters
    ----------
    run : RunFolder
        The run folder.
    stage : str
        Its sub-folder (``"confusion"``).
    name : str
        File name without ``.tif``.
    values : numpy.ndarray
        ``(y, x)`` values, the shape of ``like``'s grid.
    like : xarray.Dataset
        Gives ``y``, ``x`` and the ``crs`` attribute (a composite).
    nodata : number
        The value of cells with no data.
    """
    import rioxarray  # noqa: F401  (registers .rio)

    grid = xr.DataArray(
        values, dims=("y", "x"), coords={"y": like["y"].values, "x": like["x"].values}
    )
    grid = grid.rio.write_crs(like.attrs["crs"]).rio.write_nodata(nodata)
    path = _folder(run, stage) / f"{name}.tif"
    with replacing(path) as tmp:
        grid.rio.to_raster(tmp, driver="COG", compress="DEFLATE")
    return path


def save_summary(run: RunFolder, stage: str, summary: dict) -> Path:
    """Write ``<stage>/summary.json`` (NaN as null)."""
    path = _folder(run, stage) / "summary.json"
    with replacing(path) as tmp:
        tmp.write_text(json.dumps(_finite(summary), indent=2, default=_plain, allow_nan=False))
    return path


def _finite(value):
    """``value`` with every NaN or infinite float as None (JSON has neither)."""
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return _finite(json.loads(value.to_json(orient="index")))
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value


def save_arrays(run: RunFolder, stage: str, name: str, ds: xr.Dataset) -> Path:
    """Write labelled arrays (attention, attributions) as ``<stage>/<name>.zarr``."""
    ds = ds.copy()
    for key in list(ds.coords):  # string coordinates as fixed-width for Zarr
        if ds[key].dtype == object:
            ds[key] = ds[key].astype(str)
    return write_zarr(ds, _folder(run, stage) / f"{name}.zarr", progress=False)


def _plain(value):
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    if isinstance(value, np.floating):
        return None if np.isnan(value) else value.item()
    if isinstance(value, pd.DataFrame):
        return json.loads(value.to_json(orient="index"))
    return str(value)
