"""stackstac cubes of STAC assets on a study area's grid: the one place cropkit calls stackstac.

Items are stacked in time order (:func:`by_time`), with the EPSG code always passed
(pystac >= 1.15 turns ``proj:epsg`` into ``proj:code``, which stackstac does not read),
read errors as NaN with a warning, and files on the grid's pixel lattice read without
GDAL's warper (:class:`cropkit.access.reader.AlignedReader`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import numpy as np
import pystac
import stackstac
from rasterio.enums import Resampling
from rasterio.errors import RasterioIOError
from stackstac.rio_reader import AutoParallelRioReader as AutoRioReader

from ..core.errors import DataError, EmptySearchError
from ..core.regions import SceneGrid
from .reader import AlignedReader

__all__ = [
    "Items",
    "READ_ERRORS_AS_NODATA",
    "as_items",
    "by_time",
    "stack_assets",
    "at_resolution",
    "asset_projection",
]

#: Items as an API returns them: pystac items or their dicts, in any order.
Items = Iterable[pystac.Item | dict]

#: Read errors that become NaN instead of failing (logged by stackstac as warnings).
READ_ERRORS_AS_NODATA = (RasterioIOError(".*"),)


def as_items(items: Items) -> list[pystac.Item]:
    """Items as pystac items, in their order.

    Raises
    ------
    EmptySearchError
        If there are none.
    """
    out = list(items)
    if not out:
        raise EmptySearchError("No items to load: the item collection is empty.")
    return [it if isinstance(it, pystac.Item) else pystac.Item.from_dict(it) for it in out]


def by_time(items: Items) -> list[pystac.Item]:
    """Items sorted by acquisition time, then id: the order stackstac stacks them in.

    STAC APIs return the newest item first; every per-item value cropkit builds (scale,
    offset, cloud cover) follows this order.
    """
    earliest = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    return sorted(as_items(items), key=lambda it: (it.datetime or earliest, it.id))


def stack_assets(
    items,
    assets,
    grid: SceneGrid,
    chunks: int | tuple[tuple[int, ...], tuple[int, ...]],
    time_chunks: int,
    resampling=Resampling.bilinear,
    dtype="float32",
    fill=None,
    resolution: float = 10,
    bounds: tuple[float, float, float, float] | None = None,
    rescale: dict[tuple[str, str], tuple[np.float32, np.float32]] | None = None,
):
    """The lazy stackstac cube ``(time, band, y, x)`` of ``assets`` on ``grid``.

    Digital numbers, unless ``rescale`` maps ``(item id, asset key)`` to the scale and
    offset of that asset: stackstac then applies them as it reads each file (cropkit's
    values replace the items' ``raster:bands``), with no pass over the cube.

    Chunks of ``time_chunks`` dates (-1: all), one band, ``chunks`` pixels square (or
    the chunk lengths along y and x); NaN (or ``fill``) where there is no data.
    ``bounds`` (the grid's by default) are taken as they are, not snapped to multiples of
    ``resolution``.
    """
    items = by_time(items)
    if not any(_reaches(it, grid) for it in items):
        raise DataError(
            f"None of the {len(items)} items reaches the study area "
            f"{tuple(round(v, 4) for v in grid.lonlat_bounds())} (lon/lat): search the "
            "items over this area again (rerun notebook 01)."
        )
    dicts = [it.to_dict(transform_hrefs=False) for it in items]
    for d in dicts if rescale else ():
        for key in assets:
            scale, offset = rescale[d["id"], key]
            asset = d["assets"][key]
            first = (asset.get("raster:bands") or [{}])[0]
            asset["raster:bands"] = [{**first, "scale": scale, "offset": offset}]
    return stackstac.stack(
        dicts,
        assets=list(assets),
        epsg=grid.epsg,
        resolution=resolution,
        bounds=bounds or grid.bounds,
        snap_bounds=bounds is None,
        resampling=resampling,
        dtype=dtype,
        fill_value=np.float32(np.nan) if fill is None else fill,
        rescale=bool(rescale),
        xy_coords="center",
        chunksize=(time_chunks, 1, *(chunks if isinstance(chunks, tuple) else (chunks,) * 2)),
        errors_as_nodata=READ_ERRORS_AS_NODATA,
        properties=False,
        band_coords=False,
        # files at another resolution are warped: stackstac's reader opens them once
        reader=AlignedReader if at_resolution(items, assets, resolution) else AutoRioReader,
    )


def at_resolution(items: list[pystac.Item], assets: Sequence[str], resolution: float) -> bool:
    """Whether any of the assets has pixels of ``resolution`` (else none can be read plainly)."""
    for item in items:
        for key in assets:
            transform = asset_projection(item, key)[1] if key in item.assets else None
            if not transform or abs(transform[0]) == resolution:
                return True  # unknown: let the reader look
    return False


def asset_projection(item: pystac.Item, key: str) -> tuple[int | None, list | None]:
    """EPSG code and ``proj:transform`` of an asset (its own, else its item's)."""
    fields = {**item.properties, **item.assets[key].extra_fields}
    epsg, code = fields.get("proj:epsg"), fields.get("proj:code")
    if epsg is None and isinstance(code, str) and code.upper().startswith("EPSG:"):
        epsg = int(code.split(":", 1)[1])
    return epsg, fields.get("proj:transform")


def _reaches(item: pystac.Item, grid: SceneGrid) -> bool:
    """Whether the item's footprint box overlaps the grid (an item without bbox does)."""
    if not item.bbox:
        return True
    w, s, e, n = grid.lonlat_bounds()
    return not (item.bbox[2] <= w or item.bbox[0] >= e or item.bbox[3] <= s or item.bbox[1] >= n)
