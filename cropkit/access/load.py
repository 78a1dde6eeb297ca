"""Load STAC items into lazy, dask-backed data cubes with stackstac.

Every cube is on the study area's UTM grid (``SceneGrid``), whatever the provider:

* :func:`load_s2`: surface reflectance ``(time, band, y, x)`` at 10 m, 20 m bands
  resampled bilinearly, the provider's scale and offset applied per item (Earth Search
  ``raster:bands`` or Planetary Computer's processing-baseline rule), nodata as NaN,
  bands named ``B02`` ... ``B12``. Where the grid lines up with the 20 m pixels (the
  items' ``proj:transform``), those bands are read at 20 m and doubled by
  :func:`cropkit.access.resample.bilinear_double`: GDAL's bilinear values, without its warper,
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
(:class:`cropkit.access.reader.AlignedReader`). Items that lack a needed asset are skipped with
a warning that names them; COGs that cannot be read become NaN with a warning instead of
failing the whole computation.

A chunk holds every date of one band over one spatial tile (``time_chunks=-1``): what a
composite reduces, read by one task file after file. One chunk per file and band (stackstac's
default) makes tens of thousands of tiny tasks for a season, whose scheduling and transfer
between worker processes cost more than the reading itself.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pystac
import rasterio
import xarray as xr
from rasterio.enums import Resampling
from rasterio.errors import RasterioIOError

from ..core.errors import DataError
from ..core.regions import SceneGrid
from .native import doubled_natively, with_native_20m
from .providers import S2_BAND_NAMES, Provider, reflectance_scale_offset
from .stacking import Items, as_items, by_time, stack_assets

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


class SkippedItemsWarning(UserWarning):
    """Some items were left out of a cube (a needed asset is missing)."""


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
    items = as_items(items)
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


def stacked_items(cube: xr.DataArray, items: Items, warn: bool = True) -> list[pystac.Item]:
    """The items behind each time step of a stackstac cube, in the cube's order.

    stackstac drops items that do not reach the output bounds; this warns (a
    :class:`SkippedItemsWarning` that names and counts them) and returns the others.
    """
    by_id = {it.id: it for it in as_items(items)}
    ids = [str(v) for v in np.atleast_1d(cube["id"].values)]
    if warn:
        dropped = [i for i in by_id if i not in set(ids)]
        _warn_skipped(dropped, len(by_id), "that do not reach the study area")
    return [by_id[i] for i in ids]


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
    cube = stack_assets(items, keys, grid, chunks, time_chunks, rescale=rescale)
    items = stacked_items(cube, items)
    scale, offset = (
        np.array([[rescale[item.id, key][i] for key in keys] for item in items], np.float32)
        for i in (0, 1)
    )
    cube = with_native_20m(cube, items, keys, grid, time_chunks, scale, offset)
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
    cube = stack_assets(items, [key], grid, chunks, time_chunks, **nearest)
    # the 20 m classes read as they are and repeated, where they line up with the grid
    read = {"dtype": "uint8", "fill": np.uint8(0)}
    used = stacked_items(cube, items, warn=False)
    doubled = doubled_natively(used, key, grid, cube.data.chunks[2:], time_chunks, 10, **read)
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
    cube = stack_assets(items, ["cloud_truth"], grid, chunks, time_chunks, **nearest)
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
    linear = stack_assets(items, keys, grid, chunks, time_chunks)
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
