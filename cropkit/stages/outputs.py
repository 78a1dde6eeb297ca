"""Writing a stage's own products: tables, grids, labelled arrays and a summary.

Notebooks 05 and 06 each keep their products in a folder of the run named after their
stage (``attention/``, ``confusion/``); their stage modules (:mod:`.attention`,
:mod:`.confusion`) name the products and call these writers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..core.run import RunFolder
from ..core.store import replacing, write_zarr

__all__ = ["save_tables", "save_grid", "save_summary", "save_arrays"]


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
