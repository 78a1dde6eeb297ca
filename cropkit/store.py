"""Zarr stores of the run folder: write once, reuse on the next run.

Examples
--------
>>> ds = cached_zarr(run.path / "s2.zarr", make_composite)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import xarray as xr

from .errors import DataError

__all__ = ["write_zarr", "open_zarr", "cached_zarr"]

_COMPLETE = "cropkit_complete"


def _plain(attrs: dict) -> dict:
    """The attributes that JSON can hold (drops objects such as an Affine or a RasterSpec)."""
    out = {}
    for key, value in attrs.items():
        try:
            json.dumps(value)
        except TypeError:
            continue
        out[key] = value
    return out


def _compute_with_progress(delayed, progress: bool) -> None:
    """Compute on the active dask.distributed client (with its progress bar), else locally."""
    try:
        from distributed import get_client
        from distributed import progress as show_progress

        client = get_client()
    except (ImportError, ValueError):
        if progress:
            from dask.diagnostics import ProgressBar

            with ProgressBar(minimum=5):
                delayed.compute()
        else:
            delayed.compute()
        return
    future = client.compute(delayed)
    if progress:
        show_progress(future)
    future.result()


def write_zarr(ds: xr.Dataset, path: str | Path, progress: bool = True) -> Path:
    """Write ``ds`` (computing it if lazy) to a Zarr store (format 2), replacing any old one.

    The computation runs on the active dask.distributed client when there is one, with
    a progress bar. The store is written next to its final place and renamed when
    complete, so a failed write never leaves a half-written store behind.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    ds = ds.copy()
    ds.attrs = {**_plain(ds.attrs), _COMPLETE: True}
    for var in ds.variables.values():
        var.attrs = _plain(var.attrs)
        var.encoding.pop("chunks", None)
        var.encoding.pop("preferred_chunks", None)
    delayed = ds.to_zarr(tmp, mode="w", consolidated=True, zarr_format=2, compute=False)
    _compute_with_progress(delayed, progress)
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)
    return path


def open_zarr(path: str | Path) -> xr.Dataset:
    """Open a store written by :func:`write_zarr` (lazily, dask-backed)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist: run the notebook that makes it first.")
    ds = xr.open_zarr(path, consolidated=True)
    if not ds.attrs.get(_COMPLETE):
        raise DataError(f"{path} is incomplete; delete it and run again.")
    return ds


def cached_zarr(
    path: str | Path, make: Callable[[], xr.Dataset], overwrite: bool = False
) -> xr.Dataset:
    """Open ``path`` if it exists, else build it with ``make()``, write it and open it.

    Parameters
    ----------
    path : path-like
        The Zarr store.
    make : callable
        Returns the dataset to store (lazy is fine: it is computed while writing).
    overwrite : bool
        Rebuild even if the store exists.
    """
    path = Path(path)
    if overwrite or not path.exists():
        write_zarr(make(), path)
    return open_zarr(path)
