"""20 m assets read at their own resolution and doubled onto a 10 m grid, tile by tile.

Where an asset's pixels line up with the grid (the items' ``proj:transform``), a 20 m
band is read at 20 m and doubled by :func:`cropkit.access.resample.bilinear_double` (GDAL's
bilinear values without its warper) and the SCL is repeated (GDAL's nearest neighbour).
The 20 m chunks lie under the 10 m tiles (:func:`cropkit.access.resample.native_chunks`), so
each tile comes from one chunk and two pixels of its neighbours, in the cube's chunks.
"""

from __future__ import annotations

from collections.abc import Sequence

import dask.array as da
import numpy as np
import pystac
import xarray as xr
from rasterio.enums import Resampling

from ..core.regions import SceneGrid
from .resample import bilinear_double, native_chunks, native_window, tile_crops
from .stacking import asset_projection, stack_assets

__all__ = ["doubled_natively", "with_native_20m"]


def _native_window(items: list[pystac.Item], key: str, grid: SceneGrid, resolution: float):
    """The window of :func:`cropkit.access.resample.native_window` shared by every item's asset.

    ``None`` unless every item has the asset at twice ``resolution``, north up, in the
    grid's CRS, with pixels that line up with the grid's the same way.
    """
    windows = set()
    for item in items:
        epsg, t = asset_projection(item, key)
        if epsg != grid.epsg or not t or len(t) < 6:
            return None
        if (t[0], t[1], t[3], t[4]) != (2 * resolution, 0, 0, -2 * resolution):
            return None
        windows.add(native_window(grid.bounds, (t[2], t[5]), resolution))
    return windows.pop() if len(windows) == 1 else None


#: Dates doubled at once by :func:`_doubled_tile`.
_DATES_PER_SLAB = 8


def _doubled_tile(
    block: np.ndarray, crops: tuple, scale: np.ndarray, offset: np.ndarray, block_info=None
) -> np.ndarray:
    """One fine tile from its overlapped native chunk (see :func:`with_native_20m`).

    Digital numbers in, ``DN * scale + offset`` out (``scale``, ``offset``: ``(time,)``
    of the whole cube). A few dates at a time: the doubling's temporaries stay small
    and reuse memory the process already holds (new memory is what costs here).
    """
    top, left = (starts[k] for k, starts in zip(block_info[None]["chunk-location"][2:], crops))
    height, width = block_info[None]["chunk-shape"][2:]
    first = block_info[None]["array-location"][0][0]
    tile = np.empty((*block.shape[:2], height, width), dtype=np.float32)
    for start in range(0, block.shape[0], _DATES_PER_SLAB):
        dates = slice(start, start + _DATES_PER_SLAB)
        slab = tile[dates]
        slab[...] = bilinear_double(block[dates])[..., top : top + height, left : left + width]
        slab *= scale[first + start : first + start + len(slab), None, None, None]
        slab += offset[first + start : first + start + len(slab), None, None, None]
    return tile


def _nearest_tile(block: np.ndarray, crops: tuple, block_info=None) -> np.ndarray:
    """One fine tile of nearest-neighbour values from its overlapped native chunk.

    Each fine pixel takes the native pixel it lies in (the grids line up: no ties).
    """
    top, left = (starts[k] for k, starts in zip(block_info[None]["chunk-location"][2:], crops))
    height, width = block_info[None]["chunk-shape"][2:]
    # fine row r of the block's doubling (its first native pixel dropped, as
    # bilinear_double drops its margin) lies in native row 1 + r // 2
    rows = 1 + (top + np.arange(height)) // 2
    cols = 1 + (left + np.arange(width)) // 2
    return block[..., rows[:, None], cols[None, :]]


def doubled_natively(
    items: list[pystac.Item],
    key: str,
    grid: SceneGrid,
    fine: tuple[tuple[int, ...], tuple[int, ...]],
    time_chunks: int,
    resolution: float,
    bilinear: dict | None = None,
    **read,
) -> da.Array | None:
    """``key`` read at twice ``resolution`` and doubled onto the grid, in chunks ``fine``.

    Bilinear as GDAL warps (:func:`cropkit.access.resample.bilinear_double`, then ``DN * scale
    + offset`` with ``bilinear``'s ``(time,)`` ``scale`` and ``offset``) or, without
    ``bilinear``, nearest neighbour (``read`` gives the dtype and fill). The native
    chunks lie under the fine tiles (:func:`cropkit.access.resample.native_chunks`): each tile
    comes from one chunk and two pixels of its neighbours. ``None`` when the asset's
    pixels do not line up with the grid (GDAL must warp) or the tiles are too small.
    """
    found = _native_window(items, key, grid, resolution)
    if found is None:
        return None
    window, offsets = found
    sizes = (
        round((window[3] - window[1]) / (2 * resolution)),
        round((window[2] - window[0]) / (2 * resolution)),
    )
    chunks = tuple(native_chunks(f, o, n) for f, o, n in zip(fine, offsets, sizes))
    if min(min(c) for c in chunks) < 2:  # tiles too small to overlap by two pixels
        return None
    native = stack_assets(
        items,
        [key],
        grid,
        chunks,
        time_chunks,
        resampling=Resampling.nearest,  # the pixels line up: a plain read
        resolution=2 * resolution,
        bounds=window,
        **read,
    )
    if list(native["id"].values) != [it.id for it in items]:
        return None
    data = native.data
    return da.map_overlap(
        _doubled_tile if bilinear else _nearest_tile,
        data,
        depth={0: 0, 1: 0, 2: 2, 3: 2},
        boundary="none",
        trim=False,
        dtype=np.float32 if bilinear else data.dtype,
        chunks=data.chunks[:2] + fine,
        crops=tuple(tile_crops(f, o, c) for f, o, c in zip(fine, offsets, chunks)),
        **(bilinear or {}),
    )


def with_native_20m(
    cube: xr.DataArray,
    items: list[pystac.Item],
    keys: Sequence[str],
    grid: SceneGrid,
    time_chunks: int,
    scale: np.ndarray,
    offset: np.ndarray,
    resolution: float = 10,
) -> xr.DataArray:
    """``cube`` with its bands at twice ``resolution`` read natively and doubled.

    ``scale`` and ``offset`` are ``(time, band)``: the doubled digital numbers are scaled
    as ``cube``'s other bands were read. Same values as stackstac's bilinear warp (see
    :mod:`cropkit.access.resample`); a band whose pixels do not line up with the grid keeps the
    warp.
    """
    bands = []
    for j, key in enumerate(keys):
        band = cube.isel(band=[j])
        bilinear = {"scale": scale[:, j], "offset": offset[:, j]}
        fine = cube.data.chunks[2:]
        doubled = doubled_natively(items, key, grid, fine, time_chunks, resolution, bilinear)
        bands.append(band if doubled is None else band.copy(data=doubled))
    return xr.concat(bands, dim="band") if len(bands) > 1 else bands[0]
