"""Load STAC items into lazy, dask-backed data cubes with stackstac.

Every cube is on the study area's UTM grid (``SceneGrid``), whatever the provider:

* :func:`load_s2`: surface reflectance ``(time, band, y, x)`` at 10 m, 20 m bands
  resampled bilinearly, the provider's scale and offset applied per item (Earth Search
  ``raster:bands`` or Planetary Computer's processing-baseline rule), nodata as NaN,
  bands named ``B02`` ... ``B12``. Where the grid lines up with the 20 m pixels (the
  items' ``proj:transform``), those bands are read at 20 m and doubled by
  :func:`cropkit.resample.bilinear_double`: GDAL's bilinear values, without its warper,
  which cost more than the reading.
* :func:`load_scl`: the Scene Classification Layer ``(time, y, x)`` at 10 m, nearest
  neighbour, 0 where there is no data.
* :func:`load_s1`: backscatter ``(time, band, y, x)`` in dB, bands ``VV`` and ``VH``.
* :func:`load_enmap`: hyperspectral reflectance ``(time, band, y, x)`` on its own 30 m
  grid (or any resolution asked for), band coordinate ``wavelength`` in nm.

The EPSG code is always passed to stackstac (pystac >= 1.15 turns ``proj:epsg`` into
``proj:code``, which stackstac does not read). stackstac rescales only from
``raster:bands``, which providers fill differently: cropkit works out each item's scale
and offset by the provider's convention and hands them to stackstac in ``raster:bands``,
so each file is scaled as it is read (the natively read 20 m bands once doubled). Files
on the grid's own pixel lattice are read as plain windows, without GDAL's warper
(:class:`cropkit.reader.AlignedReader`). Items that lack a needed asset are skipped with
a warning that names them; COGs that cannot be read become NaN with a warning instead of
failing the whole computation.

A chunk holds every date of one band over one spatial tile (``time_chunks=-1``): what a
composite reduces, read by one task file after file. One chunk per file and band (stackstac's
default) makes tens of thousands of tiny tasks for a season, whose scheduling and transfer
between worker processes cost more than the reading itself.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

import dask.array as da
import numpy as np
import pystac
import rasterio
import stackstac
import xarray as xr
from rasterio.enums import Resampling
from rasterio.errors import RasterioIOError
from stackstac.rio_reader import AutoParallelRioReader as AutoRioReader

from .errors import DataError, EmptySearchError
from .providers import S2_BAND_NAMES, Provider, reflectance_scale_offset
from .reader import AlignedReader
from .regions import SceneGrid
from .resample import bilinear_double, native_chunks, native_window, tile_crops

#: Items as an API returns them: pystac items or their dicts, in any order.
Items = Iterable[pystac.Item | dict]

__all__ = [
    "load_s2",
    "load_scl",
    "load_truth",
    "load_s1",
    "load_enmap",
    "usable_items",
    "by_time",
    "stacked_items",
    "SkippedItemsWarning",
]

#: Read errors that become NaN instead of failing (logged by stackstac as warnings).
READ_ERRORS_AS_NODATA = (RasterioIOError(".*"),)


class SkippedItemsWarning(UserWarning):
    """Some items were left out of a cube (a needed asset is missing)."""


def _as_items(items: Items) -> list[pystac.Item]:
    out = list(items)
    if not out:
        raise EmptySearchError("No items to load: the item collection is empty.")
    return [it if isinstance(it, pystac.Item) else pystac.Item.from_dict(it) for it in out]


def _readable(href: str, blocks: int = 3) -> bool:
    """Whether a COG opens *and* its data decodes.

    The header alone says nothing of a file cut short, so the first, middle and last
    internal blocks of band 1 are read too (a few range requests over HTTP).
    """
    try:
        with rasterio.open(href) as src:
            windows = [window for _, window in src.block_windows(1)]
            picks = {0, len(windows) // 2, len(windows) - 1} if blocks else set()
            for index in sorted(picks)[:blocks]:
                src.read(1, window=windows[index])
            return True
    except (RasterioIOError, rasterio.errors.RasterioError):
        return False


def _warn_skipped(skipped: list[str], total: int, why: str) -> None:
    if skipped:
        warnings.warn(
            f"Skipped {len(skipped)} of {total} items {why}: "
            f"{', '.join(skipped[:5])}{' ...' if len(skipped) > 5 else ''}",
            SkippedItemsWarning,
            stacklevel=4,
        )


def usable_items(
    items: Items, assets: Sequence[str], check_readable: bool = False
) -> list[pystac.Item]:
    """Keep the items that have every asset in ``assets``; warn about the others.

    Parameters
    ----------
    items : iterable of pystac.Item or dict
        Items to check.
    assets : sequence of str
        Asset keys every item needs.
    check_readable : bool
        Also open each asset (in parallel), read its first, middle and last blocks, and
        skip items with a COG that cannot be read or is cut short. Without it, such
        COGs become NaN when the cube is computed (with a warning from stackstac that
        names the file).

    Raises
    ------
    DataError
        If no item is left.
    """
    items = _as_items(items)
    total = len(items)
    keep = [it for it in items if all(a in it.assets for a in assets)]
    _warn_skipped(
        [it.id for it in items if it not in keep],
        total,
        f"that lack one of the assets {list(assets)}",
    )
    if check_readable and keep:
        hrefs = [[it.assets[a].get_absolute_href() for a in assets] for it in keep]
        with ThreadPoolExecutor(max_workers=16) as pool:
            ok = list(pool.map(lambda hs: all(_readable(h) for h in hs), hrefs))
        _warn_skipped(
            [it.id for it, good in zip(keep, ok) if not good],
            total,
            "with a COG that cannot be read",
        )
        keep = [it for it, good in zip(keep, ok) if good]
    if not keep:
        raise DataError(f"None of the {total} items has all the assets {list(assets)} readable.")
    return keep


def by_time(items: Items) -> list[pystac.Item]:
    """Items sorted by acquisition time, then id: the order stackstac stacks them in.

    STAC APIs return the newest item first; every per-item value cropkit builds (scale,
    offset, cloud cover) follows this order.
    """
    earliest = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    return sorted(_as_items(items), key=lambda it: (it.datetime or earliest, it.id))


def stacked_items(cube: xr.DataArray, items: Items, warn: bool = True) -> list[pystac.Item]:
    """The items behind each time step of a stackstac cube, in the cube's order.

    stackstac drops items that do not reach the output bounds; this warns (a
    :class:`SkippedItemsWarning` that names and counts them) and returns the others.
    """
    by_id = {it.id: it for it in _as_items(items)}
    ids = [str(v) for v in np.atleast_1d(cube["id"].values)]
    if warn:
        dropped = [i for i in by_id if i not in set(ids)]
        _warn_skipped(dropped, len(by_id), "that do not reach the study area")
    return [by_id[i] for i in ids]


def _stack(
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
        reader=AlignedReader if _at_resolution(items, assets, resolution) else AutoRioReader,
    )


def _at_resolution(items: list[pystac.Item], assets: Sequence[str], resolution: float) -> bool:
    """Whether any of the assets has pixels of ``resolution`` (else none can be read plainly)."""
    for item in items:
        for key in assets:
            transform = _projection(item, key)[1] if key in item.assets else None
            if not transform or abs(transform[0]) == resolution:
                return True  # unknown: let the reader look
    return False


def _projection(item: pystac.Item, key: str) -> tuple[int | None, list | None]:
    """EPSG code and ``proj:transform`` of an asset (its own, else its item's)."""
    fields = {**item.properties, **item.assets[key].extra_fields}
    epsg, code = fields.get("proj:epsg"), fields.get("proj:code")
    if epsg is None and isinstance(code, str) and code.upper().startswith("EPSG:"):
        epsg = int(code.split(":", 1)[1])
    return epsg, fields.get("proj:transform")


def _native_window(items: list[pystac.Item], key: str, grid: SceneGrid, resolution: float):
    """The window of :func:`cropkit.resample.native_window` shared by every item's asset.

    ``None`` unless every item has the asset at twice ``resolution``, north up, in the
    grid's CRS, with pixels that line up with the grid's the same way.
    """
    windows = set()
    for item in items:
        epsg, t = _projection(item, key)
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
    """One fine tile from its overlapped native chunk (see :func:`_with_native_20m`).

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


def _doubled_natively(
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

    Bilinear as GDAL warps (:func:`cropkit.resample.bilinear_double`, then ``DN * scale
    + offset`` with ``bilinear``'s ``(time,)`` ``scale`` and ``offset``) or, without
    ``bilinear``, nearest neighbour (``read`` gives the dtype and fill). The native
    chunks lie under the fine tiles (:func:`cropkit.resample.native_chunks`): each tile
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
    native = _stack(
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


def _with_native_20m(
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
    :mod:`cropkit.resample`); a band whose pixels do not line up with the grid keeps the
    warp.
    """
    bands = []
    for j, key in enumerate(keys):
        band = cube.isel(band=[j])
        bilinear = {"scale": scale[:, j], "offset": offset[:, j]}
        fine = cube.data.chunks[2:]
        doubled = _doubled_natively(items, key, grid, fine, time_chunks, resolution, bilinear)
        bands.append(band if doubled is None else band.copy(data=doubled))
    return xr.concat(bands, dim="band") if len(bands) > 1 else bands[0]


def _reaches(item: pystac.Item, grid: SceneGrid) -> bool:
    """Whether the item's footprint box overlaps the grid (an item without bbox does)."""
    if not item.bbox:
        return True
    w, s, e, n = grid.lonlat_bounds()
    return not (item.bbox[2] <= w or item.bbox[0] >= e or item.bbox[3] <= s or item.bbox[1] >= n)


def _tidy(cube: xr.DataArray, names: Sequence[str], name: str) -> xr.DataArray:
    cube = cube.assign_coords(band=list(names))
    keep = {"time", "band", "x", "y", "id", "epsg"}
    cube = cube.drop_vars([c for c in cube.coords if c not in keep])
    cube.attrs = {}  # stackstac's spec objects are not serialisable; the crs is set by the caller
    cube.name = name
    return cube


def load_s2(
    items: Items,
    provider: Provider,
    grid: SceneGrid,
    bands: Sequence[str] = S2_BAND_NAMES,
    chunks: int = 512,
    check_readable: bool = False,
    time_chunks: int = -1,
) -> xr.DataArray:
    """Sentinel-2 L2A surface reflectance on the 10 m grid.

    Parameters
    ----------
    items : iterable of pystac.Item or dict
        Sentinel-2 L2A items of one provider.
    provider : Provider
        Their provider (asset names and reflectance convention).
    grid : SceneGrid
        Output grid (CRS, bounds; 10 m).
    bands : sequence of str
        cropkit band names, ``B02`` ... ``B12``.
    chunks : int
        Spatial chunk size (pixels).
    check_readable : bool
        Skip (and count) items whose COGs cannot be opened; see :func:`usable_items`.
    time_chunks : int
        Dates per chunk; -1 (the default) puts every date of a tile and band in one
        chunk, as a composite reads them (one task reads them one after another:
        few, large tasks instead of one per file).

    Returns
    -------
    xarray.DataArray
        Dims ``(time, band, y, x)``, float32 reflectance, NaN where there is no data,
        coordinates ``time``, ``band``, ``y``, ``x`` and ``id`` (item id per time).
    """
    keys = [provider.asset_key("s2", b) for b in bands]
    items = usable_items(items, keys, check_readable)
    # the provider's scale and offset, applied by stackstac as it reads each file
    rescale = {}
    for item in items:
        d = item.to_dict(transform_hrefs=False)
        for key, band in zip(keys, bands):
            pair = reflectance_scale_offset(d, band, provider)
            rescale[item.id, key] = (np.float32(pair[0]), np.float32(pair[1]))
    cube = _stack(items, keys, grid, chunks, time_chunks, rescale=rescale)
    items = stacked_items(cube, items)
    scale, offset = (
        np.array([[rescale[item.id, key][i] for key in keys] for item in items], np.float32)
        for i in (0, 1)
    )
    cube = _with_native_20m(cube, items, keys, grid, time_chunks, scale, offset)
    cube = _tidy(cube, bands, "reflectance")
    cube.attrs.update(units="1", long_name="surface reflectance", crs=f"EPSG:{grid.epsg}")
    return cube


def load_scl(
    items: Items, provider: Provider, grid: SceneGrid, chunks: int = 512, time_chunks: int = -1
) -> xr.DataArray:
    """Sentinel-2 Scene Classification Layer on the 10 m grid (nearest neighbour).

    Returns
    -------
    xarray.DataArray
        Dims ``(time, y, x)``, uint8 SCL codes, 0 where there is no data.
    """
    key = provider.asset_key("s2", "SCL")
    items = usable_items(items, [key])
    nearest = {"resampling": Resampling.nearest, "dtype": "uint8", "fill": np.uint8(0)}
    cube = _stack(items, [key], grid, chunks, time_chunks, **nearest)
    # the 20 m classes read as they are and repeated, where they line up with the grid
    read = {"dtype": "uint8", "fill": np.uint8(0)}
    used = stacked_items(cube, items, warn=False)
    doubled = _doubled_natively(used, key, grid, cube.data.chunks[2:], time_chunks, 10, **read)
    cube = cube if doubled is None else cube.copy(data=doubled)
    cube = _tidy(cube, ["SCL"], "scl").isel(band=0, drop=True)
    cube.attrs.update(long_name="scene classification", crs=f"EPSG:{grid.epsg}")
    return cube


def load_truth(
    items: Items, grid: SceneGrid, chunks: int = 512, time_chunks: int = -1
) -> xr.DataArray:
    """The demo's true sky condition (asset ``cloud_truth``), dims ``(time, y, x)``.

    Codes as :data:`cropkit.demo.clouds.TRUTH_CODES`; 255 where there is no data. Only
    simulated items have this asset.
    """
    items = usable_items(items, ["cloud_truth"])
    nearest = {"resampling": Resampling.nearest, "dtype": "uint8", "fill": np.uint8(255)}
    cube = _stack(items, ["cloud_truth"], grid, chunks, time_chunks, **nearest)
    cube = _tidy(cube, ["truth"], "truth").isel(band=0, drop=True)
    cube.attrs.update(long_name="true sky condition (simulation)", crs=f"EPSG:{grid.epsg}")
    return cube


def load_s1(
    items: Items, provider: Provider, grid: SceneGrid, chunks: int = 512, time_chunks: int = -1
) -> xr.DataArray:
    """Sentinel-1 RTC backscatter in dB on the 10 m grid.

    Returns
    -------
    xarray.DataArray
        Dims ``(time, band, y, x)`` with bands ``VV`` and ``VH``, float32 dB
        (``10 log10(γ⁰)``), NaN where there is no data.
    """
    keys = [provider.asset_key("s1", b) for b in ("VV", "VH")]
    items = usable_items(items, keys)
    linear = _stack(items, keys, grid, chunks, time_chunks)
    linear = linear.where(linear > 0)
    cube = _tidy(10 * np.log10(linear), ["VV", "VH"], "backscatter")
    cube.attrs.update(units="dB", long_name="gamma0 backscatter", crs=f"EPSG:{grid.epsg}")
    return cube


def load_enmap(
    items: Items, provider: Provider, grid: SceneGrid, resolution: float = 30, chunks: int = 256
) -> xr.DataArray:
    """EnMAP L2A reflectance on the study area, at 30 m unless asked otherwise.

    Returns
    -------
    xarray.DataArray
        Dims ``(time, band, y, x)`` float32 reflectance; coordinate ``wavelength``
        (nm) along ``band``.
    """
    key = provider.asset_key("enmap", "reflectance")
    items = by_time(usable_items(items, [key]))
    first = items[0].assets[key].to_dict()
    eo = first.get("eo:bands") or []
    rb = (first.get("raster:bands") or [{}])[0]
    if not eo:
        raise DataError(f"EnMAP item {items[0].id} lists no eo:bands; cannot name its bands.")
    # stackstac makes one band per asset: open the multi-band COG per item with rioxarray
    import rioxarray  # noqa: F401  (registers .rio)

    transform, shape = grid.at_resolution(resolution)
    scale, offset = float(rb.get("scale", 1.0)), float(rb.get("offset", 0.0))
    arrays = []
    for item in items:
        href = item.assets[key].get_absolute_href()
        da = xr.open_dataarray(
            href, engine="rasterio", chunks={"band": -1, "x": chunks, "y": chunks}
        )
        on_grid = (
            da.rio.crs is not None
            and da.rio.crs.to_epsg() == grid.epsg
            and da.rio.transform() == transform
            and da.shape[1:] == shape
        )
        if not on_grid:
            da = da.rio.reproject(
                f"EPSG:{grid.epsg}",
                transform=transform,
                shape=shape,
                resampling=Resampling.bilinear,
            )
        arrays.append((da.where(da != da.rio.nodata) * scale + offset).astype("float32"))
    times = [np.datetime64(it.datetime.replace(tzinfo=None), "ns") for it in items]
    cube = xr.concat(arrays, dim="time").assign_coords(time=times)
    wavelength = [1000 * b["center_wavelength"] for b in eo]
    cube = cube.assign_coords(band=[b["name"] for b in eo], wavelength=("band", wavelength))
    cube = cube.drop_vars(
        [c for c in cube.coords if c not in {"time", "band", "x", "y", "wavelength"}]
    )
    cube.name = "reflectance"
    cube.attrs = {"units": "1", "long_name": "surface reflectance", "crs": f"EPSG:{grid.epsg}"}
    return cube
