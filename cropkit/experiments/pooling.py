"""Datasets of several runs as one: the data of a study over many regions.

A study trains one model over several regions (the 1D-CNN + U-Net design: eight regions,
a held-out zone in each). Each run's pixel (or patch) dataset is built by its own stages
and cached in its run folder; :func:`pool_datasets` stacks them along the sample (or
patch) dimension with a ``region`` coordinate, after checking that they can be pooled:
the same kind, streams, taxonomy and period grid. Each run keeps its own split (its own
held-out zones); :func:`region_holdout` tests on whole regions instead.

Pooled data larger than memory is written by :func:`pool_to_store` into a Zarr store a
chunk at a time and opened lazily; training then reads each batch from the store
(:func:`cropkit.datasets.torchdata.streams_for`), the same batches for the same seed.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import xarray as xr

from ..compute.splits import TEST, TRAIN, VAL
from ..core.errors import DataError
from ..core.taxonomy import TIERS
from ..datasets import class_names

__all__ = [
    "pool_datasets",
    "pool_to_store",
    "pooled_bytes",
    "region_holdout",
    "HeldOutClassWarning",
]

#: Samples (or patches) copied at a time while pooling.
_BLOCK = 8192


class HeldOutClassWarning(UserWarning):
    """A class has test samples in the held-out regions but none to train on."""


#: Variables some runs may lack, with the value that says "unknown" (crop change: runs
#: whose previous year is not known).
_OPTIONAL = {"changed": -1}


def _first_dim(ds: xr.Dataset) -> str:
    return "patch" if "patch" in ds.dims else "sample"


def _time_grid(ds: xr.Dataset) -> list[str]:
    """The periods' first days as month-day: seasons of different years pool by position."""
    if "time" not in ds.coords:
        return []
    return [str(np.datetime64(t, "D"))[5:] for t in ds["time"].values]


def _differences(name: str, first: xr.Dataset, label: str, other: xr.Dataset) -> list[str]:
    """What keeps ``other`` (run ``label``) from being pooled with ``first`` (run ``name``)."""
    found = []
    if _first_dim(first) != _first_dim(other):
        found.append(f"{name} holds {_first_dim(first)}es, {label} {_first_dim(other)}es")
    streams = [s for s in ("s2", "s1", "enmap") if s in first]
    theirs = [s for s in ("s2", "s1", "enmap") if s in other]
    if streams != theirs:
        found.append(f"streams: {name} has {streams}, {label} has {theirs}")
    for tier in TIERS:
        mine, yours = class_names(first, tier), class_names(other, tier)
        if mine != yours:
            only_a = sorted(set(mine) - set(yours))
            only_b = sorted(set(yours) - set(mine))
            order = "" if only_a or only_b else " (the same classes in another order)"
            found.append(
                f"{tier} classes: only {name} has {only_a}, only {label} has {only_b}{order}"
            )
    grid_a, grid_b = _time_grid(first), _time_grid(other)
    if grid_a != grid_b:  # the same months and days (another year's season pools)
        found.append(
            f"period grid: {name} has {len(grid_a)} periods from {grid_a[:1]} to {grid_a[-1:]}, "
            f"{label} {len(grid_b)} from {grid_b[:1]} to {grid_b[-1:]}"
        )
    return found


def pool_datasets(datasets: Mapping[str, xr.Dataset]) -> xr.Dataset:
    """The datasets of several runs as one, with a ``region`` coordinate.

    Parameters
    ----------
    datasets : mapping
        Run label (a region, or region-year) -> its pixel dataset ``(sample, ...)`` or
        patch dataset ``(patch, ...)`` (:func:`cropkit.datasets.open_dataset`: opened
        lazily, so the pooled dataset is the one copy that is loaded).

    Returns
    -------
    xarray.Dataset
        The datasets concatenated along ``sample`` (or ``patch``), each run's own
        ``split``; coordinate ``region`` ``(sample,)`` holds the run label. Parcel ids
        are only unique within a region: group by ``(region, parcel)``. Runs of
        different years pool when their periods start on the same months and days
        (two seasons of one region: a temporal transfer); the dates are the first run's.

    Raises
    ------
    DataError
        If fewer than one dataset is given, or two runs differ in kind, streams,
        taxonomy (class lists of any tier) or period grid: the message names both runs
        and every difference (build them with the same ``crop_codes``, season and
        compositing period).

    Notes
    -----
    The pooled arrays are allocated once and filled block by block from each run's
    (lazily opened) stores, so memory peaks at the pooled dataset plus the stored chunk
    being read (1.7 times the pooled size for two small runs; see bench_study.py).
    """
    _check_poolable(datasets)
    labels = list(datasets)
    first = datasets[labels[0]]
    dim = _first_dim(first)
    sizes = [ds.sizes[dim] for ds in datasets.values()]
    variables = {}
    optional = {  # kept where some runs know it, unknown in the others
        name: var
        for ds in datasets.values()
        for name, var in ds.data_vars.items()
        if name in _OPTIONAL and name not in first
    }
    for name, var in {**first.coords, **first.data_vars, **optional}.items():
        if dim not in var.dims:
            continue  # shared by every run (dates, bands): the first run's
        order = (dim, *[d for d in var.dims if d != dim])
        values = np.empty((sum(sizes), *var.transpose(*order).shape[1:]), dtype=var.dtype)
        start = 0
        for ds, n in zip(datasets.values(), sizes):  # a block of one run's variable at a time
            if name not in ds.variables:
                values[start : start + n] = _OPTIONAL[name]
                start += n
                continue
            source = ds[name].transpose(*order)
            for block in range(0, n, _BLOCK):
                stop = min(block + _BLOCK, n)
                values[start + block : start + stop] = source[block:stop].values
            start += n
        variables[name] = xr.Variable(order, values, attrs=var.attrs)
    coords = {k: v for k, v in first.coords.items() if dim not in v.dims}
    coords.update({k: variables.pop(k) for k in list(variables) if k in first.coords})
    coords["region"] = (dim, np.repeat(np.asarray(labels, dtype=str), sizes))
    pooled = xr.Dataset(variables, coords=coords, attrs=dict(first.attrs))
    pooled.attrs["regions"] = labels
    return pooled


def _check_poolable(datasets: Mapping[str, xr.Dataset]) -> None:
    if not datasets:
        raise DataError("Give at least one run's dataset to pool.")
    labels = list(datasets)
    first = datasets[labels[0]]
    problems = []
    for label in labels[1:]:
        problems += _differences(labels[0], first, label, datasets[label])
    if problems:
        raise DataError(
            "These runs cannot be pooled: " + "; ".join(problems) + ". Build every run with "
            "the same crop_codes, season and compositing period (notebooks 03 and 04)."
        )


def pooled_bytes(datasets: Mapping[str, xr.Dataset]) -> int:
    """Bytes the pooled dataset would take in memory (every variable, as opened)."""
    return int(sum(ds.nbytes for ds in datasets.values()))


def pool_to_store(datasets: Mapping[str, xr.Dataset], folder, name: str) -> xr.Dataset:
    """The runs' datasets pooled into a Zarr store, opened lazily: for more than memory.

    The same pooled dataset as :func:`pool_datasets`, but written chunk by chunk
    (dask) to ``<folder>/datasets/<name>.zarr`` (compact on disk, as every saved
    dataset) and opened from there: memory holds a few chunks, never the pooled data.

    Parameters
    ----------
    datasets : mapping
        Run label -> its (lazily opened) pixel or patch dataset.
    folder : path-like
        Where the store goes (a study folder's ``pooled``).
    name : str
        The store's name (``pixels`` or ``patches``).

    Returns
    -------
    xarray.Dataset
        Dask-backed, with the ``region`` coordinate and ``regions`` attribute.
    """
    import dask.array as da

    from ..datasets import open_dataset, save_dataset

    _check_poolable(datasets)
    labels = list(datasets)
    dim = _first_dim(datasets[labels[0]])
    parts, text = [], f"<U{max(len(label) for label in labels)}"
    for label, ds in datasets.items():
        n = ds.sizes[dim]
        for var, fill in _OPTIONAL.items():
            known = [d[var] for d in datasets.values() if var in d]
            if known and var not in ds:  # unknown in this run
                ref = known[0]
                ds = ds.assign({var: (ref.dims, da.full((n, *ref.shape[1:]), fill, ref.dtype))})
        parts.append(ds.assign_coords(region=(dim, np.full(n, label, dtype=text))))
    pooled = xr.concat(
        parts,
        dim=dim,
        data_vars="minimal",
        coords="minimal",
        compat="override",
        join="override",
        combine_attrs="override",
    )
    pooled = pooled.chunk({dim: _BLOCK})
    pooled.attrs["regions"] = labels
    save_dataset(pooled, folder, name)
    return open_dataset(folder, name)


def region_holdout(pooled: xr.Dataset, test_regions: list[str]) -> xr.Dataset:
    """Train on some regions and test on the others (generalisation to unseen landscapes).

    Parameters
    ----------
    pooled : xarray.Dataset
        From :func:`pool_datasets`.
    test_regions : list of str
        The regions held out whole for testing.

    Returns
    -------
    xarray.Dataset
        ``pooled`` with a new ``split``: ``TEST`` in ``test_regions``; in the other
        regions ``VAL`` where the run's own split validated (its validation blocks) and
        ``TRAIN`` otherwise (its test zones train too).

    Raises
    ------
    DataError
        For a region the pooled dataset does not hold, or when every region is tested.

    Warns
    -----
    HeldOutClassWarning
        For each tier-4 class with test samples but none in the training regions.
    """
    regions = list(pooled.attrs.get("regions") or np.unique(pooled["region"].values))
    unknown = sorted(set(test_regions) - set(regions))
    if unknown:
        raise DataError(f"No region {unknown} in the pooled dataset; it holds {regions}.")
    if not test_regions or set(test_regions) == set(regions):
        raise DataError(
            f"test_regions must name some but not all of the regions {regions}, not "
            f"{list(test_regions)}."
        )
    tested = np.isin(pooled["region"].values, list(test_regions))
    own = pooled["split"].values
    split = np.where(tested, TEST, np.where(own == VAL, VAL, TRAIN)).astype(own.dtype)
    out = pooled.assign(split=(pooled["split"].dims, split))
    labels = pooled["tier4"].values
    if labels.ndim > 1:  # patches: every labelled pixel of the patch
        tested = np.broadcast_to(tested.reshape(-1, *[1] * (labels.ndim - 1)), labels.shape)
    train_classes = set(np.unique(labels[~tested & (labels >= 0)]).tolist())
    names = class_names(pooled, "tier4")
    for c in sorted(set(np.unique(labels[tested & (labels >= 0)]).tolist()) - train_classes):
        warnings.warn(
            f"{names[c]} grows only in the test regions {list(test_regions)}: no model can "
            "learn it, and it scores 0 F1. Hold out other regions, or add one where it grows.",
            HeldOutClassWarning,
            stacklevel=2,
        )
    return out
