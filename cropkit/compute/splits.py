"""Train/validation/test splits that do not leak: whole parcels, whole zones, whole blocks.

Neighbouring pixels of one parcel are near copies of each other, so a random pixel
split puts the same field on both sides and flatters any model. Every split here
assigns whole parcels: by zone (the source study holds out one zone per region), or
by square blocks for spatial k-fold cross-validation (:mod:`.folds`).
:func:`random_pixel_split` is the leaky one, kept for the leakage report.

Splits are ``(y, x)`` int8 layers on the label grid: :data:`TRAIN`, :data:`VAL`,
:data:`TEST`, or :data:`UNUSED` outside labelled pixels.

Examples
--------
>>> split = zone_holdout(labels, zones, test_zones=["z2"])   # doctest: +SKIP
>>> split_summary(split, labels["tier4"])                    # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from ..core.errors import DataError
from .profiles import burn

__all__ = [
    "TRAIN",
    "VAL",
    "TEST",
    "UNUSED",
    "SPLIT_NAMES",
    "SplitWarning",
    "parcel_table",
    "zone_layer",
    "zone_holdout",
    "random_codes",
    "random_pixel_split",
    "split_summary",
    "check_split",
]

TRAIN, VAL, TEST, UNUSED = 0, 1, 2, -1
#: Split code -> name.
SPLIT_NAMES = {TRAIN: "train", VAL: "val", TEST: "test"}
#: Fewest labelled parcels a split needs on each side.
MIN_PARCELS = 2


class SplitWarning(UserWarning):
    """A split is usable but lopsided (e.g. a class has no training pixel)."""


def parcel_table(parcel: xr.DataArray, block_px: int | None = None) -> pd.DataFrame:
    """One row per labelled parcel: pixel count, centre pixel and (optionally) block.

    Parameters
    ----------
    parcel : xarray.DataArray
        Dims ``(y, x)``, parcel ids (> 0) as made by
        :func:`cropkit.compute.labels.rasterize_labels`.
    block_px : int, optional
        Side of the square blocks; adds a ``block`` column (row-major block index of the
        parcel's centre pixel).

    Returns
    -------
    pandas.DataFrame
        Index ``parcel``; columns ``pixels``, ``row``, ``col`` (mean pixel position) and
        ``block``.
    """
    ids = np.asarray(parcel).astype(np.int64)
    rows, cols = np.indices(ids.shape)
    inside = ids > 0
    flat = ids[inside]
    n = np.bincount(flat)
    present = np.flatnonzero(n)
    row = np.bincount(flat, rows[inside])[present] / n[present]
    col = np.bincount(flat, cols[inside])[present] / n[present]
    table = pd.DataFrame(
        {"pixels": n[present], "row": row, "col": col}, index=pd.Index(present, name="parcel")
    )
    if block_px:
        if block_px < 1:
            raise DataError(f"block_px must be a positive number of pixels, not {block_px}.")
        n_cols = -(-ids.shape[1] // block_px)
        table["block"] = (row // block_px).astype(int) * n_cols + (col // block_px).astype(int)
    return table


def zone_layer(zones: gpd.GeoDataFrame, like: xr.DataArray | xr.Dataset) -> xr.DataArray:
    """Burn zone polygons onto a grid.

    Parameters
    ----------
    zones : geopandas.GeoDataFrame
        A ``zone_id`` column and polygons (any CRS), e.g. ``RunConfig.grid.zones_frame()``.
    like : xarray.DataArray or xarray.Dataset
        The grid, with a ``crs`` attribute.

    Returns
    -------
    xarray.DataArray
        Dims ``(y, x)``: index into ``zones`` + 1, 0 outside every zone; the zone ids
        are in the ``zone_ids`` attribute.
    """
    if "zone_id" not in zones.columns:
        raise DataError(f"The zones have no 'zone_id' column (columns: {list(zones.columns)}).")
    crs = like.attrs.get("crs")
    if crs is None:
        raise DataError("The grid has no 'crs' attribute; cannot place the zones on it.")
    geoms = zones.to_crs(crs).geometry
    burnt = burn(zip(geoms, range(1, len(zones) + 1)), like)
    return xr.DataArray(
        burnt,
        dims=("y", "x"),
        coords={"y": like["y"].values, "x": like["x"].values},
        attrs={"zone_ids": [str(z) for z in zones["zone_id"]]},
        name="zone",
    )


def _majority(parcel: np.ndarray, layer: np.ndarray) -> pd.Series:
    """The most frequent ``layer`` value over each parcel's pixels."""
    inside = parcel > 0
    pairs = pd.DataFrame({"parcel": parcel[inside], "value": layer[inside]})
    counts = pairs.value_counts().reset_index(name="n").sort_values("n", ascending=False)
    return counts.drop_duplicates("parcel").set_index("parcel")["value"]


def _paint(parcel: np.ndarray, assignment: pd.Series, fill: int = UNUSED) -> np.ndarray:
    """Per-pixel value of each pixel's parcel from a ``parcel -> value`` series."""
    lookup = np.full(int(parcel.max()) + 1, fill, dtype=np.int8)
    lookup[assignment.index.to_numpy()] = assignment.to_numpy()
    return np.where(parcel > 0, lookup[parcel], fill).astype(np.int8)


def _as_layer(values: np.ndarray, labels: xr.Dataset, name: str, **attrs) -> xr.DataArray:
    return xr.DataArray(
        values, dims=("y", "x"), coords={"y": labels["y"], "x": labels["x"]}, name=name, attrs=attrs
    )


def _blocks_to_val(
    table: pd.DataFrame, candidates: pd.Index, val_fraction: float, seed: int
) -> pd.Index:
    """Parcels of randomly drawn blocks until ``val_fraction`` of the candidate pixels.

    A block is passed over when taking it would leave a class with less than half of its
    training pixels, so validation never swallows a rare class.
    """
    rng = np.random.default_rng(seed)
    sub = table.loc[candidates]
    per_class = sub.groupby("label")["pixels"].sum()
    left = per_class.copy()
    blocks = sub.groupby("block")["pixels"].sum()
    target = val_fraction * blocks.sum()
    chosen, total = [], 0
    for block in rng.permutation(blocks.index.to_numpy()):
        if total >= target:
            break
        taken = sub[sub["block"] == block].groupby("label")["pixels"].sum()
        if ((left[taken.index] - taken) < 0.5 * per_class[taken.index]).any():
            continue
        left[taken.index] -= taken
        chosen.append(block)
        total += blocks[block]
    return sub.index[sub["block"].isin(chosen)]


def zone_holdout(
    labels: xr.Dataset,
    zones: gpd.GeoDataFrame,
    test_zones: Sequence[str],
    val_fraction: float = 0.2,
    block_px: int = 32,
    seed: int = 0,
) -> xr.DataArray:
    """Hold out whole zones for testing; validation is whole blocks of the other zones.

    Each parcel goes with the zone holding most of its pixels, so a parcel that
    straddles a zone border is never split.

    Parameters
    ----------
    labels : xarray.Dataset
        From :func:`cropkit.compute.labels.rasterize_labels` (needs ``parcel`` and a ``crs``
        attribute).
    zones : geopandas.GeoDataFrame
        Zone polygons with a ``zone_id`` column.
    test_zones : sequence of str
        Zone ids to hold out.
    val_fraction : float
        Share of the training zones' labelled pixels drawn (as blocks) for validation
        (early stopping); 0 for none. A block that would take more than half of a tier-4
        class's training pixels is passed over.
    block_px : int
        Side of the validation blocks, in pixels.
    seed : int
        Seed of the block draw.

    Returns
    -------
    xarray.DataArray
        Dims ``(y, x)``, int8 split codes.

    Raises
    ------
    DataError
        If a test zone is unknown, or either side would have fewer than two parcels.
    """
    zone = zone_layer(zones, labels)
    known = zone.attrs["zone_ids"]
    test_zones = [str(z) for z in ([test_zones] if isinstance(test_zones, str) else test_zones)]
    unknown = sorted(set(test_zones) - set(known))
    if unknown:
        raise DataError(f"Unknown test zones {unknown}; the zones are {known}.")
    if not 0 <= val_fraction < 1:
        raise DataError(f"val_fraction must be in [0, 1), not {val_fraction}.")
    parcel = labels["parcel"].values
    table = parcel_table(labels["parcel"], block_px)
    if table.empty:
        raise DataError(
            "No parcel covers a pixel of the study area: the parcels do not overlap it, or "
            "the buffer (buffer_m) and the smallest area (min_area_m2) dropped them all. "
            "Check that the parcel file is of this area (ck.labels.within_grid names both "
            "extents), or lower buffer_m and min_area_m2."
        )
    zone_of = _majority(parcel, zone.values).reindex(table.index, fill_value=0)
    table["label"] = _majority(parcel, labels["tier4"].values).reindex(table.index)
    test_codes = [known.index(z) + 1 for z in test_zones]
    side = pd.Series(TRAIN, index=table.index, dtype=np.int8)
    side[zone_of.isin(test_codes)] = TEST
    side[zone_of == 0] = UNUSED
    train = side.index[side == TRAIN]
    if val_fraction:
        side[_blocks_to_val(table, train, val_fraction, seed)] = VAL
    _require_parcels(side, (TRAIN, TEST), f"holding out zones {test_zones}")
    return _as_layer(
        _paint(parcel, side), labels, "split", kind="zone", test_zones=test_zones, seed=seed
    )


def random_codes(
    shape: tuple[int, ...], test_fraction: float, val_fraction: float, seed: int = 0
) -> np.ndarray:
    """Split codes drawn independently for every element: the leaky, random split."""
    draw = np.random.default_rng(seed).random(shape)
    return np.where(
        draw < test_fraction, TEST, np.where(draw < test_fraction + val_fraction, VAL, TRAIN)
    ).astype(np.int8)


def random_pixel_split(
    labels: xr.Dataset, test_fraction: float = 0.3, val_fraction: float = 0.1, seed: int = 0
) -> xr.DataArray:
    """A random split of labelled *pixels*: it leaks, and is here to show that it does.

    Returns
    -------
    xarray.DataArray
        Dims ``(y, x)``, int8 split codes.
    """
    parcel = labels["parcel"].values
    split = random_codes(parcel.shape, test_fraction, val_fraction, seed)
    split = np.where(parcel > 0, split, UNUSED).astype(np.int8)
    return _as_layer(split, labels, "split", kind="random-pixel", seed=seed)


def split_summary(split: xr.DataArray, classes: xr.DataArray) -> pd.DataFrame:
    """Labelled pixels per class on each side of a split.

    Parameters
    ----------
    split : xarray.DataArray
        Split codes ``(y, x)``.
    classes : xarray.DataArray
        A tier layer ``(y, x)`` with its ``classes`` attribute.

    Returns
    -------
    pandas.DataFrame
        Index: the names of the classes with labelled pixels (the layer's class list is
        the whole taxonomy's); columns ``train``, ``val``, ``test``.
    """
    names = list(classes.attrs["classes"])
    s, c = split.values.ravel(), classes.values.ravel()
    keep = (s >= 0) & (c >= 0)
    table = pd.crosstab(c[keep], s[keep]).reindex(
        index=range(len(names)), columns=list(SPLIT_NAMES), fill_value=0
    )
    table.index = pd.Index(names, name=classes.name)
    table.columns = list(SPLIT_NAMES.values())
    return table[table.sum(axis=1) > 0]


def check_split(split: xr.DataArray, classes: xr.DataArray) -> pd.DataFrame:
    """:func:`split_summary`, warning about classes the split leaves out of training.

    Warns
    -----
    SplitWarning
        Naming each class that has test pixels but no training pixel (the model cannot
        predict it; its test F1 will be 0), and each class absent from the test side.
    """
    table = split_summary(split, classes)
    untrained = table.index[(table["train"] == 0) & (table["test"] > 0)].tolist()
    if untrained:
        warnings.warn(
            f"{classes.name} classes {untrained} have test pixels but no training pixel: the "
            "model cannot learn them. Hold out another zone, use a coarser tier, or merge the "
            "classes in the taxonomy.",
            SplitWarning,
            stacklevel=2,
        )
    untested = table.index[(table["test"] == 0) & (table["train"] > 0)].tolist()
    if untested:
        warnings.warn(
            f"{classes.name} classes {untested} have no test pixel and will not be scored.",
            SplitWarning,
            stacklevel=2,
        )
    return table


def _require_parcels(side: pd.Series, codes: Sequence[int], what: str) -> None:
    for code in codes:
        n = int((side == code).sum())
        if n < MIN_PARCELS:
            raise DataError(
                f"Too few parcels for a split ({what}): {n} {SPLIT_NAMES[code]} parcel(s), "
                f"need at least {MIN_PARCELS}. Use a larger study area (profile='full') or "
                "other test zones."
            )
