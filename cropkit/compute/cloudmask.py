"""Cloud masking with the Sentinel-2 Scene Classification Layer, and how good it is.

The SCL classes kept as clear ground are configurable; the default keeps 4
(vegetation), 5 (not vegetated), 6 (water) and 7 (unclassified), as in the source
study. An optional buffer dilates the cloud and shadow classes (3, 8, 9, 10), which
catches the thin cloud edges that SCL misses. Because the demo knows the true sky,
:func:`score_mask` reports the precision and recall of the cloud detection.

All functions take and return arrays (numpy or dask, wrapped in xarray) and do no I/O.

Examples
--------
>>> import numpy as np, xarray as xr
>>> scl = xr.DataArray(np.array([[[4, 9], [3, 5]]], dtype="uint8"), dims=("time", "y", "x"))
>>> clear_mask(scl).values.astype(int).tolist()
[[[1, 0], [0, 1]]]
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import xarray as xr
from scipy import ndimage

from ..core.errors import ConfigError, GridMismatchError

__all__ = [
    "SCL_CLASSES",
    "DEFAULT_KEEP",
    "CLOUD_CLASSES",
    "clear_mask",
    "apply_mask",
    "check_mask_grid",
    "clear_fraction",
    "valid_count",
    "class_breakdown",
    "score_mask",
    "most_mixed_date",
]

#: Sentinel-2 L2A Scene Classification Layer codes.
SCL_CLASSES = {
    0: "no data",
    1: "saturated or defective",
    2: "dark area pixels",
    3: "cloud shadows",
    4: "vegetation",
    5: "not vegetated",
    6: "water",
    7: "unclassified",
    8: "cloud medium probability",
    9: "cloud high probability",
    10: "thin cirrus",
    11: "snow",
}
#: Classes kept by default (the source study's choice).
DEFAULT_KEEP = (4, 5, 6, 7)
#: Classes a buffer grows around: shadows, clouds and cirrus.
CLOUD_CLASSES = (3, 8, 9, 10)


def _check_keep(keep: Iterable[int]) -> tuple[int, ...]:
    keep = tuple(int(k) for k in keep)
    bad = sorted(set(keep) - set(SCL_CLASSES))
    if bad:
        raise ConfigError(
            f"SCL keep-set {keep} has invalid codes {bad}; SCL codes are 0-11: "
            + ", ".join(f"{k} {v}" for k, v in SCL_CLASSES.items())
        )
    if not keep:
        raise ConfigError("The SCL keep-set is empty: every pixel would be masked.")
    return keep


def _dilate(block: np.ndarray, buffer_px: int) -> np.ndarray:
    structure = np.zeros((1, 3, 3), dtype=bool)
    structure[0] = ndimage.generate_binary_structure(2, 1)
    return ndimage.binary_dilation(block, structure=structure, iterations=buffer_px)


def _in_classes(scl: xr.DataArray, classes: Iterable[int]) -> xr.DataArray:
    """Whether each SCL code is one of ``classes``, by table lookup for uint8 codes.

    One pass and one boolean array; ``isin`` compares every pixel with every class first.
    """
    if scl.dtype != np.uint8:
        return scl.isin(list(classes))
    table = np.zeros(256, dtype=bool)
    table[list(classes)] = True
    return xr.apply_ufunc(table.take, scl, dask="parallelized", output_dtypes=[bool])


def clear_mask(
    scl: xr.DataArray, keep: Iterable[int] = DEFAULT_KEEP, buffer_px: int = 0
) -> xr.DataArray:
    """Which pixels are clear ground.

    Parameters
    ----------
    scl : xarray.DataArray
        Dims ``(time, y, x)``, SCL codes.
    keep : iterable of int
        SCL classes that count as clear.
    buffer_px : int
        Grow the cloud and shadow classes by this many pixels before masking.

    Returns
    -------
    xarray.DataArray
        Dims ``(time, y, x)``, bool, ``True`` where the pixel is usable.

    Raises
    ------
    ConfigError
        If ``keep`` holds codes outside 0-11, or ``buffer_px`` is negative.
    """
    keep = _check_keep(keep)
    if buffer_px < 0:
        raise ConfigError(f"buffer_px={buffer_px} must be zero or positive.")
    clear = _in_classes(scl, keep)
    if buffer_px:
        cloudy = _in_classes(scl, CLOUD_CLASSES)
        data = cloudy.data
        if hasattr(data, "map_overlap"):
            grown = data.map_overlap(
                _dilate,
                depth={0: 0, 1: buffer_px, 2: buffer_px},
                boundary=False,
                buffer_px=buffer_px,
                dtype=bool,
            )
        else:
            grown = _dilate(np.asarray(data), buffer_px)
        clear = clear & ~cloudy.copy(data=grown)
    clear.name = "clear"
    clear.attrs = {"keep": list(keep), "buffer_px": int(buffer_px)}
    return clear


def check_mask_grid(cube: xr.DataArray, clear: xr.DataArray) -> None:
    """Check that a mask ``(time, y, x)`` is on a cube's dates and pixel grid.

    Raises
    ------
    GridMismatchError
        If ``clear`` is on another grid (e.g. the 20 m SCL on a 10 m cube) or has other
        dates: xarray would align the two on their few common coordinates and return an
        empty cube.
    """
    for dim in ("time", "y", "x"):
        if dim not in clear.dims or dim not in cube.dims:
            continue
        same = clear.sizes[dim] == cube.sizes[dim]
        if same and dim in clear.coords and dim in cube.coords:
            a, b = clear[dim].values, cube[dim].values
            same = bool((a == b).all()) if a.dtype.kind == "M" else bool(np.allclose(a, b))
        if not same:
            what = "dates" if dim == "time" else "pixel grid"
            raise GridMismatchError(
                f"The mask is not on the cube's {what}: {clear.sizes[dim]} values along {dim!r} "
                f"against {cube.sizes[dim]}. Load the SCL on the cube's grid, from the same items "
                "(ck.load.load_scl(items, provider, grid) with the grid of load_s2: 10 m, "
                "nearest neighbour), or resample it: clear.interp_like(cube, method='nearest')."
            )


def apply_mask(cube: xr.DataArray, clear: xr.DataArray) -> xr.DataArray:
    """Set masked observations of ``cube`` (``(time, band, y, x)``) to NaN.

    Parameters
    ----------
    cube : xarray.DataArray
        Dims ``(time, band, y, x)``.
    clear : xarray.DataArray
        Dims ``(time, y, x)``, bool, on the same pixel grid and dates as ``cube``.

    Raises
    ------
    GridMismatchError
        If ``clear`` is on another grid (:func:`check_mask_grid`).
    """
    check_mask_grid(cube, clear)
    return cube.where(clear)


def clear_fraction(clear: xr.DataArray, scl: xr.DataArray | None = None) -> xr.DataArray:
    """Share of clear pixels per date, dims ``(time,)``.

    With ``scl``, pixels without data (SCL 0, outside the swath) are left out of the
    denominator, as ``eo:cloud_cover`` does.
    """
    if scl is None:
        return clear.mean(("y", "x"))
    observed = scl != 0
    return (clear & observed).sum(("y", "x")) / observed.sum(("y", "x")).clip(min=1)


def valid_count(clear: xr.DataArray) -> xr.DataArray:
    """Number of clear observations per pixel, dims ``(y, x)``."""
    return clear.sum("time").astype("int16").rename("valid_count")


def class_breakdown(scl: xr.DataArray) -> xr.DataArray:
    """Share of each SCL class per date, dims ``(time, scl_class)``."""
    codes = list(SCL_CLASSES)
    shares = [(scl == c).mean(("y", "x")) for c in codes]
    out = xr.concat(shares, dim="scl_class").assign_coords(
        scl_class=codes, scl_name=("scl_class", list(SCL_CLASSES.values()))
    )
    return out.transpose("time", "scl_class").rename("share")


def score_mask(clear: xr.DataArray, truth: xr.DataArray) -> dict[str, float]:
    """Precision and recall of cloud detection against the true sky.

    The positive class is "not clear ground": cloud, thin cloud, cirrus, shadow or snow
    (truth codes 1-5 of :data:`cropkit.demo.clouds.TRUTH_CODES`); pixels without data
    (truth 255) are ignored.

    Parameters
    ----------
    clear : xarray.DataArray
        Dims ``(time, y, x)``, the mask to score (``True`` = clear).
    truth : xarray.DataArray
        Same dims, true sky codes.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1`` of the detection, the share of truly
        contaminated pixels that the mask lets through (``leak``), and the number of
        pixels scored.
    """
    truth_v = np.asarray(truth).ravel()
    flagged = ~np.asarray(clear, dtype=bool).ravel()
    scored = truth_v != 255
    actual = (truth_v >= 1) & (truth_v <= 5)
    # counts in one pass each: scikit-learn's label checks cost seconds on 10^7 pixels
    tp = np.count_nonzero(flagged & actual & scored)
    fp = np.count_nonzero(flagged & ~actual & scored)
    fn = np.count_nonzero(~flagged & actual & scored)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {
        "precision": float(p),
        "recall": float(r),
        "f1": float(f),
        "leak": float(1 - r),
        "pixels": int(scored.sum()),
    }


def most_mixed_date(fraction: xr.DataArray) -> np.datetime64:
    """The date whose clear share is closest to one half (a good date to look at a mask)."""
    return fraction["time"].values[int(np.abs(fraction.values - 0.5).argmin())]
