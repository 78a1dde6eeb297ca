"""Training datasets: labelled pixel time series and patches, from composites and labels.

:func:`pixel_dataset` gathers every labelled pixel into an :class:`xarray.Dataset` with
a ``sample`` dimension: Sentinel-2 series ``(sample, time, band)``, a validity mask
from the gap-filling flags, day of year, optional Sentinel-1 ``(sample, time, pol)``
and EnMAP ``(sample, wavelength)``, the labels of every tier, the parcel id and the
split. :func:`patch_dataset` cuts the same inputs into ``(patch, time, band, h, w)``
windows for spatial models. Both are saved in the run folder (``datasets/*.zarr``) so
the later notebooks and models reuse them; :mod:`cropkit.datasets.torchdata` wraps them for
PyTorch. :func:`~cropkit.datasets.arrays.from_arrays` builds a pixel dataset from your own
arrays instead.

Everything here is array in, array out; only :func:`save_dataset` and
:func:`open_dataset` (:mod:`.saved`) touch the disk.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..compute.gapfill import FLAGS
from ..compute.labels import NO_LABEL
from ..compute.splits import UNUSED
from ..core.errors import DataError
from ..core.taxonomy import TIERS
from .classes import (
    ClassesRemappedWarning,
    check_taxonomy,
    class_names,
    dataset_taxonomy,
    to_dataset_classes,
)

__all__ = [
    "pixel_dataset",
    "grid_pixels",
    "grid_patches",
    "from_arrays",
    "from_worldcereal",
    "read_worldcereal",
    "patch_dataset",
    "enmap_windows",
    "period_doy",
    "class_weights",
    "class_names",
    "dataset_taxonomy",
    "check_taxonomy",
    "to_dataset_classes",
    "ClassesRemappedWarning",
    "select_split",
    "save_dataset",
    "open_dataset",
]


def period_doy(periods: xr.DataArray | pd.DatetimeIndex) -> np.ndarray:
    """Day of year of the middle of each compositing period.

    Days count from 1 January of the first period's year: a season across New Year
    goes on counting (1 January of the next year is day 366 or 367), so the dates stay
    in order. The last period is taken as long as the one before it; a single period
    gives its first day.

    Returns
    -------
    numpy.ndarray
        Dims ``(time,)``, int16.
    """
    starts = pd.DatetimeIndex(np.asarray(periods))
    origin = pd.Timestamp(year=starts[0].year, month=1, day=1) - pd.Timedelta(days=1)
    if len(starts) == 1:
        return np.array([(starts[0] - origin).days], dtype=np.int16)
    ends = list(starts[1:]) + [starts[-1] + (starts[-1] - starts[-2])]
    mids = [s + (e - s) / 2 for s, e in zip(starts, ends)]
    return np.array([(m - origin).days for m in mids], dtype=np.int16)


def _check_same_grid(name: str, ds: xr.Dataset, labels: xr.Dataset) -> None:
    crs, lcrs = ds.attrs.get("crs"), labels.attrs.get("crs")
    if crs and lcrs and str(crs) != str(lcrs):
        raise DataError(
            f"The {name} composite is in {crs} but the labels are in {lcrs}: rasterize the "
            f"parcels with like=<the {name} composite> so both share one grid."
        )
    for dim in ("y", "x"):
        if ds.sizes[dim] != labels.sizes[dim] or not np.allclose(ds[dim], labels[dim]):
            raise DataError(
                f"The {name} composite and the labels are on different grids ({dim}: "
                f"{ds.sizes[dim]} vs {labels.sizes[dim]} pixels): rasterize the parcels with "
                f"like=<the {name} composite>."
            )


def pixel_dataset(
    s2: xr.Dataset,
    labels: xr.Dataset,
    split: xr.DataArray,
    s1: xr.Dataset | None = None,
    enmap: xr.Dataset | None = None,
    folds: xr.DataArray | None = None,
) -> xr.Dataset:
    """Every labelled pixel as a sample: time series, masks, labels of all tiers, split.

    Parameters
    ----------
    s2 : xarray.Dataset
        Sentinel-2 composite with ``median`` ``(period, band, y, x)`` and ``flags``
        ``(period, y, x)`` (see :func:`cropkit.stages.composites.s2_composite`).
    labels : xarray.Dataset
        From :func:`cropkit.compute.labels.rasterize_labels` on the same grid.
    split : xarray.DataArray
        Split codes ``(y, x)`` (see :mod:`cropkit.compute.splits`); pixels marked
        :data:`~cropkit.compute.splits.UNUSED` are left out.
    s1 : xarray.Dataset, optional
        Sentinel-1 composite with ``mean`` ``(period, band, y, x)`` on the same grid and
        periods.
    enmap : xarray.Dataset, optional
        EnMAP ``reflectance`` ``(band, y, x)`` on its own grid; each pixel takes the
        nearest EnMAP pixel.
    folds : xarray.DataArray, optional
        Spatial fold index ``(y, x)`` from :func:`cropkit.compute.folds.block_kfold`.

    Returns
    -------
    xarray.Dataset
        Dims ``sample``, ``time``, ``band`` (and ``pol``, ``wavelength``):

        - ``s2`` ``(sample, time, band)`` float32 reflectance;
        - ``valid`` ``(sample, time)`` bool, True where the value was observed (not
          interpolated or filled);
        - ``s1`` ``(sample, time, pol)`` float32 dB and ``enmap`` ``(sample, wavelength)``
          float32 when given;
        - ``tier4`` ... ``tier1``, ``parcel``, ``split`` (and ``fold``) ``(sample,)``;
        - ``changed`` ``(sample,)`` int8 where the labels have that layer (1 the crop
          changed from the year before, 0 it stayed, -1 unknown);
        - coordinates ``doy`` ``(time,)``, ``row``, ``col``, ``x``, ``y`` ``(sample,)``.

        Class names of each tier are in the attributes ``classes_tier4`` ....

    Raises
    ------
    DataError
        If the inputs are on different grids, or no labelled pixel is left.
    """
    _check_same_grid("Sentinel-2", s2, labels)
    if split.shape != labels["parcel"].shape:
        raise DataError("The split and the labels have different shapes; make both from one grid.")
    keep = (labels["parcel"].values > 0) & (labels["tier4"].values != NO_LABEL)
    keep &= split.values != UNUSED
    rows, cols = np.nonzero(keep)
    if rows.size == 0:
        raise DataError(
            "No labelled pixel is left: the parcels do not overlap the composite, or the "
            "buffer and minimum area dropped them all."
        )
    data = _gather_streams(s2, rows, cols, s1, enmap, labels)
    for tier in TIERS:
        data[tier] = xr.DataArray(labels[tier].values[rows, cols], dims="sample")
    data["parcel"] = xr.DataArray(labels["parcel"].values[rows, cols], dims="sample")
    if "changed" in labels:  # crop change from the year before (crop-change studies)
        data["changed"] = xr.DataArray(labels["changed"].values[rows, cols], dims="sample")
    data["split"] = xr.DataArray(split.values[rows, cols], dims="sample")
    if folds is not None:
        data["fold"] = xr.DataArray(folds.values[rows, cols], dims="sample")
    ds = _as_samples(data, s2, rows, cols)
    ds.attrs.update(_class_attrs(labels))
    ds.attrs.update(crs=labels.attrs.get("crs"), shape=list(labels["parcel"].shape))
    ds.attrs.update({k: v for k, v in split.attrs.items() if k in ("kind", "test_zones")})
    return ds


def _class_attrs(labels: xr.Dataset) -> dict:
    """The class list of every tier and the taxonomy of the label layers."""
    attrs = {f"classes_{t}": list(labels[t].attrs["classes"]) for t in TIERS}
    attrs.update({k: labels.attrs[k] for k in ("taxonomy", "taxonomy_table") if k in labels.attrs})
    return attrs


def _gather_streams(
    s2: xr.Dataset,
    rows: np.ndarray,
    cols: np.ndarray,
    s1: xr.Dataset | None,
    enmap: xr.Dataset | None,
    like: xr.Dataset | None = None,
) -> dict[str, xr.DataArray]:
    """The input streams at pixels ``(rows, cols)`` of the 10 m grid, dims ``sample``."""
    at = {"y": xr.DataArray(rows, dims="sample"), "x": xr.DataArray(cols, dims="sample")}
    sel = s2.isel(at)
    data = {
        "s2": sel["median"].transpose("sample", "period", "band").astype("float32"),
        "valid": (sel["flags"] == FLAGS["observed"]).transpose("sample", "period"),
    }
    if s1 is not None:
        if like is not None:
            _check_same_grid("Sentinel-1", s1, like)
        if s1.sizes["period"] != s2.sizes["period"]:
            raise DataError(
                f"Sentinel-1 has {s1.sizes['period']} periods and Sentinel-2 "
                f"{s2.sizes['period']}: composite both with the same period."
            )
        s1sel = s1["mean"].isel(at).rename(band="pol").drop_vars("period")
        data["s1"] = s1sel.transpose("sample", "period", "pol").astype("float32")
    if enmap is not None:
        data["enmap"] = _enmap_at(enmap, s2["x"].values[cols], s2["y"].values[rows])
    return data


def _as_samples(data: dict, s2: xr.Dataset, rows: np.ndarray, cols: np.ndarray) -> xr.Dataset:
    ds = xr.Dataset({k: v.drop_vars(["x", "y", "epsg"], errors="ignore") for k, v in data.items()})
    return ds.rename(period="time").assign_coords(
        doy=("time", period_doy(s2["period"])),
        row=("sample", rows.astype(np.int32)),
        col=("sample", cols.astype(np.int32)),
        x=("sample", s2["x"].values[cols]),
        y=("sample", s2["y"].values[rows]),
    )


def grid_pixels(
    s2: xr.Dataset,
    s1: xr.Dataset | None = None,
    enmap: xr.Dataset | None = None,
    rows: slice = slice(None),
) -> xr.Dataset:
    """Every pixel of a block of rows of the composites, unlabelled, for inference.

    Parameters
    ----------
    s2, s1, enmap : xarray.Dataset
        Composites as in :func:`pixel_dataset`.
    rows : slice
        Rows of the 10 m grid to take (all by default).

    Returns
    -------
    xarray.Dataset
        As :func:`pixel_dataset` without labels, split or classes: ``s2``, ``valid``
        (``s1``, ``enmap``) ``(sample, ...)`` in row-major order, coordinates ``doy``,
        ``row``, ``col``, ``x``, ``y``.
    """
    height, width = s2.sizes["y"], s2.sizes["x"]
    r = np.arange(height)[rows]
    rr, cc = np.repeat(r, width), np.tile(np.arange(width), r.size)
    return _as_samples(_gather_streams(s2, rr, cc, s1, enmap), s2, rr, cc)


def _enmap_at(enmap: xr.Dataset, x: np.ndarray, y: np.ndarray) -> xr.DataArray:
    """Nearest EnMAP pixel at each ``(x, y)``; pixels off the EnMAP grid are NaN."""
    refl = enmap["reflectance"]
    ex, ey = refl["x"].values, refl["y"].values
    col = np.rint((x - ex[0]) / (ex[1] - ex[0])).astype(np.int64)
    row = np.rint((y - ey[0]) / (ey[1] - ey[0])).astype(np.int64)
    inside = (col >= 0) & (col < ex.size) & (row >= 0) & (row < ey.size)
    values = np.asarray(refl.transpose("y", "x", "band").values)
    picked = values[np.clip(row, 0, ey.size - 1), np.clip(col, 0, ex.size - 1)]
    picked[~inside] = np.nan
    coords = {}
    if "wavelength" in refl.coords:
        coords["wavelength"] = np.asarray(refl["wavelength"].values, dtype=float)
    return xr.DataArray(picked.astype(np.float32), dims=("sample", "wavelength"), coords=coords)


def patch_dataset(
    s2: xr.Dataset,
    labels: xr.Dataset,
    split: xr.DataArray,
    size: int = 32,
    s1: xr.Dataset | None = None,
    min_labelled: float = 0.05,
    enmap: xr.Dataset | None = None,
) -> xr.Dataset:
    """Square windows of the composites and labels, for spatial models.

    The grid is cut into non-overlapping ``size`` x ``size`` windows. A window goes to
    the split that holds most of its labelled pixels; labels of pixels from another
    split are set to :data:`~cropkit.compute.labels.NO_LABEL` so no loss ever sees them.

    Parameters
    ----------
    s2, labels, split, s1 :
        As in :func:`pixel_dataset`.
    size : int
        Window side in pixels.
    min_labelled : float
        Windows with a smaller share of labelled pixels are dropped.
    enmap : xarray.Dataset, optional
        EnMAP ``reflectance`` ``(band, y, x)`` on its own (30 m) grid: each patch gets
        the EnMAP window that covers it.

    Returns
    -------
    xarray.Dataset
        ``s2`` ``(patch, time, band, h, w)``, ``valid`` ``(patch, time, h, w)``,
        ``s1`` ``(patch, time, pol, h, w)`` when given, ``enmap``
        ``(patch, wavelength, eh, ew)`` on the EnMAP grid when given (NaN off that
        grid) with ``enmap_offset`` ``(patch, corner)`` (where the patch lies in its
        EnMAP window, in EnMAP pixels) and the ``enmap_scale`` attribute (a patch
        pixel in EnMAP pixels), ``tier4`` ... ``tier1`` and
        ``parcel`` (and ``changed``, where the labels have it) ``(patch, h, w)``,
        ``split`` ``(patch,)``; coordinates ``time`` (the
        periods), ``doy``, ``row0``, ``col0`` (top-left pixel of each window).
    """
    _check_same_grid("Sentinel-2", s2, labels)
    height, width = labels["parcel"].shape
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise DataError(f"The patch size must be a positive whole number of pixels, not {size!r}.")
    if size > min(height, width):
        raise DataError(f"Patch size {size} is larger than the grid ({height} x {width}).")
    codes = split.values
    starts = [
        (r, c) for r in range(0, height - size + 1, size) for c in range(0, width - size + 1, size)
    ]
    picked, sides = [], []
    for r, c in starts:
        window = codes[r : r + size, c : c + size]
        used = window[window != UNUSED]
        if used.size < min_labelled * size * size:
            continue
        picked.append((r, c))
        sides.append(np.bincount(used.astype(np.int64)).argmax())
    if not picked:
        raise DataError(f"No {size} px window has {min_labelled:.0%} labelled pixels.")
    r0 = np.array([p[0] for p in picked])
    c0 = np.array([p[1] for p in picked])
    if s1 is not None:
        _check_same_grid("Sentinel-1", s1, labels)
    data, at, enmap_scale = _window_streams(s2, r0, c0, size, s1, enmap)
    sides = np.array(sides, dtype=np.int8)
    other = codes[at[0], at[1]] != sides[:, None, None]
    for name in (*TIERS, "parcel", *(["changed"] if "changed" in labels else [])):
        values = labels[name].values[at[0], at[1]]
        fill = 0 if name == "parcel" else NO_LABEL  # NO_LABEL is UNKNOWN_CHANGE too
        data[name] = xr.DataArray(np.where(other, fill, values), dims=("patch", "h", "w"))
    data["split"] = xr.DataArray(sides, dims="patch")
    ds = _as_patches(data, s2, r0, c0, size, enmap_scale)
    ds.attrs.update(_class_attrs(labels))
    ds.attrs.update(crs=labels.attrs.get("crs"))
    ds.attrs.update({k: v for k, v in split.attrs.items() if k in ("kind", "test_zones")})
    return ds


def grid_patches(
    s2: xr.Dataset,
    corners: list[tuple[int, int]],
    size: int,
    s1: xr.Dataset | None = None,
    enmap: xr.Dataset | None = None,
) -> xr.Dataset:
    """Windows of the composites at given corners, unlabelled, for inference.

    Parameters
    ----------
    s2, s1, enmap : xarray.Dataset
        Composites as in :func:`patch_dataset`.
    corners : list of (int, int)
        Top-left ``(row, col)`` of each window on the 10 m grid.
    size : int
        Window side in pixels.

    Returns
    -------
    xarray.Dataset
        As :func:`patch_dataset` without labels, split or classes: ``s2``, ``valid``
        (``s1``, ``enmap``, ``enmap_offset``) ``(patch, ...)``; coordinates ``time``,
        ``doy``, ``row0``, ``col0``.
    """
    r0 = np.array([r for r, _ in corners], dtype=np.int64)
    c0 = np.array([c for _, c in corners], dtype=np.int64)
    data, _, enmap_scale = _window_streams(s2, r0, c0, size, s1, enmap)
    ds = _as_patches(data, s2, r0, c0, size, enmap_scale)
    ds.attrs.update(crs=s2.attrs.get("crs"))
    return ds


def _window_streams(s2, r0, c0, size, s1=None, enmap=None):
    """The streams of the windows at ``(r0, c0)``: data vars, pixel indices, EnMAP scale."""
    ry = (r0[:, None] + np.arange(size))[:, :, None]
    cx = (c0[:, None] + np.arange(size))[:, None, :]
    at = {
        "y": xr.DataArray(np.broadcast_to(ry, (len(r0), size, size)), dims=("patch", "h", "w")),
        "x": xr.DataArray(np.broadcast_to(cx, (len(r0), size, size)), dims=("patch", "h", "w")),
    }
    data = {
        "s2": s2["median"].isel(at).transpose("patch", "period", "band", "h", "w"),
        "valid": (s2["flags"].isel(at) == FLAGS["observed"]).transpose("patch", "period", "h", "w"),
    }
    if s1 is not None:
        data["s1"] = (
            s1["mean"].isel(at).rename(band="pol").transpose("patch", "period", "pol", "h", "w")
        )
    enmap_scale = None
    if enmap is not None:
        data["enmap"], data["enmap_offset"], enmap_scale = enmap_windows(enmap, s2, r0, c0, size)
    return data, (at["y"].values, at["x"].values), enmap_scale


def _as_patches(data: dict, s2: xr.Dataset, r0, c0, size: int, enmap_scale) -> xr.Dataset:
    """One patch dataset from its variables, with the periods as ``time`` and the corners."""
    ds = xr.Dataset(
        {
            k: v.drop_vars(
                ["x", "y", "epsg", "period", "band"]
                if k == "enmap"
                else ["x", "y", "epsg", "period"],
                errors="ignore",
            )
            for k, v in data.items()
        }
    )
    ds = ds.rename(period="time").assign_coords(
        time=("time", s2["period"].values),
        doy=("time", period_doy(s2["period"])),
        row0=("patch", r0),
        col0=("patch", c0),
    )
    ds["s2"] = ds["s2"].astype("float32")
    ds.attrs.update(size=size)
    if enmap_scale is not None:
        ds.attrs["enmap_scale"] = enmap_scale
    return ds


def enmap_windows(
    enmap: xr.Dataset, s2: xr.Dataset, r0: np.ndarray, c0: np.ndarray, size: int
) -> xr.DataArray:
    """The EnMAP window over each patch and where the patch lies in it.

    A patch of ``size`` 10 m pixels starting at ``(r0, c0)`` gets the EnMAP pixels
    from the one holding its top-left corner on, ``ceil(size * res10 / res30) + 1`` a
    side (NaN off the EnMAP grid).

    Returns
    -------
    window : xarray.DataArray
        ``(patch, wavelength, eh, ew)``.
    offset : xarray.DataArray
        ``(patch, corner)``: the patch's top-left corner inside its window, in EnMAP
        pixels (row, column), each in ``[0, 1)``.
    scale : float
        Size of a patch pixel in EnMAP pixels (1/3 for 10 m on 30 m).
    """
    refl = enmap["reflectance"].transpose("band", "y", "x")
    ex, ey = refl["x"].values, refl["y"].values
    sx, sy = s2["x"].values, s2["y"].values
    res, eres = abs(sx[1] - sx[0]), abs(ex[1] - ex[0])
    side = int(np.ceil(size * res / eres)) + 1
    left = sx[c0] - res / 2
    top = sy[r0] + res / 2 if sy[1] < sy[0] else sy[r0] - res / 2
    col_at = (left - (ex[0] - eres / 2)) / eres  # patch corner in EnMAP pixels
    row_at = np.abs(top - (ey[0] + np.sign(ey[0] - ey[1]) * eres / 2)) / eres
    col, row = np.floor(col_at).astype(np.int64), np.floor(row_at).astype(np.int64)
    values = np.asarray(refl.values, dtype=np.float32)
    padded = np.pad(values, ((0, 0), (side, side), (side, side)), constant_values=np.nan)
    steps = np.arange(side)
    rows = (row[:, None] + side + steps)[:, :, None]
    cols = (col[:, None] + side + steps)[:, None, :]
    rows = np.clip(rows, 0, padded.shape[1] - 1)
    cols = np.clip(cols, 0, padded.shape[2] - 1)
    windows = padded[:, rows, cols]  # (band, patch, eh, ew)
    coords = {}
    if "wavelength" in refl.coords:
        coords["wavelength"] = np.asarray(refl["wavelength"].values, dtype=float)
    window = xr.DataArray(
        np.moveaxis(windows, 0, 1), dims=("patch", "wavelength", "eh", "ew"), coords=coords
    )
    offset = xr.DataArray(
        np.stack([row_at - row, col_at - col], axis=1).astype(np.float32),
        dims=("patch", "corner"),
        attrs={"description": "patch top-left corner in the EnMAP window, EnMAP pixels (row, col)"},
    )
    return window, offset, float(res / eres)


def select_split(ds: xr.Dataset, code: int) -> xr.Dataset:
    """The samples of one side of the split (``TRAIN``, ``VAL`` or ``TEST``)."""
    dim = "sample" if "sample" in ds.dims else "patch"
    return ds.isel({dim: np.flatnonzero(ds["split"].values == code)})


from .arrays import from_arrays  # noqa: E402  (re-exported; it uses the helpers above)
from .sampling import class_weights  # noqa: E402
from .saved import open_dataset, save_dataset  # noqa: E402
from .worldcereal import from_worldcereal, read_worldcereal  # noqa: E402
