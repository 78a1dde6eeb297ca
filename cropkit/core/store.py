"""How products are written to the run folder: whole or not at all, one writer at a time.

Every product is written to a temporary path of its own
(:func:`cropkit.core.locks.temporary_sibling`)
and renamed onto its final name under the run folder's lock, so a product under its
final name is always complete, two writers never mix their chunks, and a killed write
leaves only a temporary path that the next write sweeps away. Zarr stores record
``cropkit_complete`` and the settings they were made with; a store without the mark
(an older cropkit, a disk error) is reported as damaged and rebuilt where cropkit
can rebuild it.

Examples
--------
>>> ds = cached_zarr(run.path / "s2.zarr", make_composite)  # doctest: +SKIP
>>> with replacing(run.path / "metrics.json") as tmp:       # doctest: +SKIP
...     tmp.write_text("{}")
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import xarray as xr

from .errors import DamagedProductError, DataError
from .locks import RunLock, run_folder_of, sweep_leftovers, temporary_sibling
from .storage import storage_errors

__all__ = [
    "write_zarr",
    "open_zarr",
    "cached_zarr",
    "replacing",
    "publish",
    "recorded_settings",
    "ProductReplacedWarning",
    "ProductRebuiltWarning",
]

_COMPLETE = "cropkit_complete"
_SETTINGS = "cropkit_settings"
#: Seconds a write waits for another writer of the same run folder.
LOCK_WAIT = 120.0


class ProductReplacedWarning(UserWarning):
    """A product is replaced by one made with other settings (the change is named)."""


class ProductRebuiltWarning(UserWarning):
    """A damaged or incomplete product was found and is built again."""


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


def discard(tmp: str | Path, settle: float = 0.3, tries: int = 20) -> None:
    """Delete a failed writer's temporary file or store, for good.

    zarr writes a store's chunks concurrently: when one write fails, the others may
    still land after the error, and recreate the folder. So it is removed until it
    stays gone for ``settle`` seconds (at most ``tries`` times).
    """
    import time

    tmp = Path(tmp)
    for _ in range(tries):
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        time.sleep(settle)
        if not tmp.exists():
            return


def _write_lock(path: Path):
    """The lock of the run folder that holds ``path`` (a no-op outside run folders)."""
    folder = run_folder_of(path)
    return RunLock(folder, wait=LOCK_WAIT) if folder else contextlib.nullcontext()


def publish(tmp: str | Path, path: str | Path) -> Path:
    """Rename a finished temporary file or store onto ``path``, under the run folder's lock.

    A store (a folder) that exists is first renamed aside and deleted after the swap,
    so readers never see a half-deleted product under the final name.
    """
    tmp, path = Path(tmp), Path(path)
    with _write_lock(path):
        if path.is_dir() and not path.is_symlink():
            old = temporary_sibling(path, "old")
            path.rename(old)
            os.rename(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    return path


@contextlib.contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """Write a file through a temporary path that replaces ``path`` only on success.

    Yields the temporary path; on an exception it is deleted and ``path`` is untouched.
    """
    path = Path(path)
    with storage_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    try:
        with storage_errors(path):
            yield tmp
    except BaseException:
        discard(tmp)
        raise
    publish(tmp, path)


def recorded_settings(path: str | Path) -> dict | None:
    """The settings a complete store was written with (None: no store, or none recorded)."""
    try:
        attrs = json.loads((Path(path) / ".zattrs").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if not attrs.get(_COMPLETE) or _SETTINGS not in attrs:
        return None
    return json.loads(attrs[_SETTINGS])


def _as_recorded(settings: dict) -> dict:
    """``settings`` as they read back from a store (JSON: tuples as lists, others as str)."""
    return json.loads(json.dumps(settings, default=str))


def _warn_if_replaced(path: Path, settings: dict | None) -> None:
    old = recorded_settings(path)
    if old is None or settings is None:
        return
    new = _as_recorded(settings)
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if changed:
        what = "; ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in changed)
        warnings.warn(
            f"{path.name} is replaced by one made with other settings ({what}). Products made "
            "from the old one (models, maps, metrics) are out of date until their notebook "
            "runs again.",
            ProductReplacedWarning,
            stacklevel=3,
        )


def write_zarr(
    ds: xr.Dataset, path: str | Path, progress: bool = True, settings: dict | None = None
) -> Path:
    """Write ``ds`` (computing it if lazy) to a Zarr store (format 2), replacing any old one.

    The computation runs on the active dask.distributed client when there is one, with
    a progress bar. The store is written to a temporary path of this call and renamed
    onto ``path`` when complete (see the module docstring).

    Parameters
    ----------
    ds : xarray.Dataset
        What to store.
    path : path-like
        The store.
    progress : bool
        Show a progress bar while computing.
    settings : dict, optional
        The settings the product depends on (JSON-able); recorded in the store, and a
        replacement made with other settings warns with the change
        (:class:`ProductReplacedWarning`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_leftovers(path.parent, path.name)  # what a killed writer of it left
    tmp = temporary_sibling(path)
    ds = ds.copy()
    ds.attrs = {**_plain(ds.attrs), _COMPLETE: True}
    if settings is not None:
        ds.attrs[_SETTINGS] = json.dumps(settings, default=str, sort_keys=True)
    for var in ds.variables.values():
        var.attrs = _plain(var.attrs)
        var.encoding.pop("chunks", None)
        var.encoding.pop("preferred_chunks", None)
    try:
        with storage_errors(path, needed=ds.nbytes):  # a full disk: say so, and how much
            delayed = ds.to_zarr(tmp, mode="w", consolidated=True, zarr_format=2, compute=False)
            _compute_with_progress(delayed, progress)
    except BaseException:
        discard(tmp)
        raise
    _warn_if_replaced(path, settings)
    return publish(tmp, path)


def open_zarr(path: str | Path, remedy: str = "") -> xr.Dataset:
    """Open a store written by :func:`write_zarr` (lazily, dask-backed).

    Parameters
    ----------
    path : path-like
        The store.
    remedy : str
        What rebuilds it (e.g. "rerun notebook 03_composites"), for the messages.

    Raises
    ------
    DataError
        If the store does not exist.
    DamagedProductError
        If it is incomplete or unreadable (an older cropkit, a killed write by a version
        without atomic writes, a disk error).
    """
    path = Path(path)
    fix = remedy or "run the notebook that makes it again"
    if not path.exists():
        raise DataError(f"{path} does not exist: {fix}.")
    try:
        ds = xr.open_zarr(path, consolidated=True)
    except Exception as err:  # zarr's GroupNotFoundError, KeyError, JSON errors, ...
        raise DamagedProductError(
            f"{path} is incomplete or damaged ({type(err).__name__}: {err}); {fix} to write it "
            "again (its temporary copy replaces it only when complete)."
        ) from err
    if not ds.attrs.get(_COMPLETE):
        raise DamagedProductError(
            f"{path} is incomplete (written by an older cropkit or cut short); {fix} to write "
            "it again."
        )
    return ds


def cached_zarr(
    path: str | Path,
    make: Callable[[], xr.Dataset],
    overwrite: bool = False,
    settings: dict | None = None,
) -> xr.Dataset:
    """Open ``path`` if it holds a complete store, else build it with ``make()``, write, open.

    A damaged or incomplete store is reported (:class:`ProductRebuiltWarning`) and built
    again, and so is one recorded with other ``settings`` than these (the
    :class:`ProductReplacedWarning` names the change): a cached product never stands
    for one made otherwise.

    Parameters
    ----------
    path : path-like
        The Zarr store.
    make : callable
        Returns the dataset to store (lazy is fine: it is computed while writing).
    overwrite : bool
        Rebuild even if the store exists.
    settings : dict, optional
        Recorded in the store (see :func:`write_zarr`).
    """
    path = Path(path)
    if not overwrite and path.exists():
        try:
            ds = open_zarr(path)
        except DamagedProductError as err:
            warnings.warn(f"{err} Building it again now.", ProductRebuiltWarning, stacklevel=2)
        else:
            recorded = ds.attrs.get(_SETTINGS)  # read with the store, not again
            if recorded is None or settings is None:
                return ds
            if json.loads(recorded) == _as_recorded(settings):
                return ds
    write_zarr(make(), path, settings=settings)
    return open_zarr(path)
