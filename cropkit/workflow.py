"""The steps that notebooks 02 and 03 chain: items of the run, masked cubes, composites.

Each function does one step with the helpers of :mod:`cropkit.load`,
:mod:`cropkit.cloudmask`, :mod:`cropkit.composite` and :mod:`cropkit.gapfill`, and
reads or writes the run folder, so that every notebook can also run on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pystac
import xarray as xr

from . import cloudmask, composite, gapfill, labels, load
from .errors import DataError
from .run import RunFolder
from .seasons import Season
from .stac import StacSource
from .store import cached_zarr, open_zarr, write_zarr
from .taxonomy import load_taxonomy

__all__ = [
    "MaskedS2",
    "run_items",
    "masked_s2",
    "s2_composite",
    "s1_composite",
    "enmap_composite",
    "run_parcels",
    "load_composites",
    "training_inputs",
    "mask_settings",
    "mask_scores",
    "save_mask_summary",
]


def run_items(source: StacSource, run: RunFolder, config, sensor: str) -> pystac.ItemCollection:
    """The run's items of ``sensor``, fetched fresh from ``source``.

    Uses the ids that notebook 01 recorded; when it has not run, searches now (with
    the run's parameters) and records the ids.
    """
    try:
        ids = run.item_ids(sensor)
    except DataError:
        max_cloud = None if sensor == "s1" else config.max_cloud
        items = source.search(sensor, config.bbox, config.growing_season, max_cloud=max_cloud)
        run.add_items(sensor, [it.id for it in items])
        return items
    return source.fetch(sensor, ids)


@dataclass
class MaskedS2:
    """A Sentinel-2 cube with its scene classification and clear mask.

    Attributes
    ----------
    reflectance : xarray.DataArray
        Dims ``(time, band, y, x)``, unmasked.
    scl : xarray.DataArray
        Dims ``(time, y, x)``.
    clear : xarray.DataArray
        Dims ``(time, y, x)``, bool.
    items : pystac.ItemCollection
        The items, in time order.
    grid : cropkit.regions.SceneGrid, optional
        The study area's grid.
    """

    reflectance: xr.DataArray
    scl: xr.DataArray
    clear: xr.DataArray
    items: pystac.ItemCollection
    grid: object = None

    @property
    def masked(self) -> xr.DataArray:
        """Reflectance with cloudy observations set to NaN."""
        return cloudmask.apply_mask(self.reflectance, self.clear)


def masked_s2(
    source: StacSource,
    items: pystac.ItemCollection,
    grid,
    keep: Iterable[int] = cloudmask.DEFAULT_KEEP,
    buffer_px: int = 0,
    check_readable: bool = False,
    check_offsets: bool | None = None,
) -> MaskedS2:
    """Load Sentinel-2 reflectance and SCL lazily and build the clear mask.

    Items with a missing asset, or (with ``check_readable``, which opens every COG
    header first) an unreadable COG, or that do not reach the study area, are skipped
    with a :class:`~cropkit.load.SkippedItemsWarning` that names and counts them.
    Without the check an unreadable COG becomes NaN when computed.

    ``check_offsets`` runs :func:`cropkit.load.check_reflectance` on a sample of pixels
    (by default only for providers whose offset convention is a per-item flag, which is
    known to be wrong on some items).
    """
    keys = [source.provider.asset_key("s2", b) for b in (*load.S2_BAND_NAMES, "SCL")]
    items = load.usable_items(items, keys, check_readable)
    reflectance = load.load_s2(items, source.provider, grid)
    items = pystac.ItemCollection(load.stacked_items(reflectance, items, warn=False))
    scl = load.load_scl(items, source.provider, grid)
    if check_offsets is None:
        check_offsets = source.provider.offset_from == "boa_offset_applied"
    if check_offsets:
        load.check_reflectance(reflectance, scl)
    clear = cloudmask.clear_mask(scl, keep=keep, buffer_px=buffer_px)
    return MaskedS2(reflectance, scl, clear, items, grid)


def s2_composite(
    s2: MaskedS2,
    run: RunFolder,
    period: str = "month",
    season: Season | int | None = None,
    overwrite: bool = False,
) -> xr.Dataset:
    """Gap-filled median composites of Sentinel-2, cached as ``s2_composite.zarr``.

    ``season`` (:class:`cropkit.seasons.Season`, or a calendar year) gives the periods;
    by default the calendar year of the middle observation.

    Returns
    -------
    xarray.Dataset
        ``median`` ``(period, band, y, x)``, ``count`` and ``flags`` ``(period, y, x)``.
    """

    def make() -> xr.Dataset:
        ds = composite.period_median(s2.masked, period, season)
        ds = gapfill.fill_gaps(ds, "median")
        ds.attrs.update(crs=s2.reflectance.attrs.get("crs"), sensor="sentinel-2")
        return ds

    path = _store(run, "s2_composite", period)
    ds = cached_zarr(path, make, overwrite)
    return ds if s2.grid is None else _matching_grid(ds, s2.grid, path)


def s1_composite(
    source: StacSource,
    items,
    grid,
    run: RunFolder,
    period: str = "month",
    season: Season | int | None = None,
    overwrite: bool = False,
) -> xr.Dataset:
    """Gap-filled mean backscatter (dB, averaged in linear power), ``s1_composite.zarr``."""

    def make() -> xr.Dataset:
        cube = load.load_s1(items, source.provider, grid)
        ds = gapfill.fill_gaps(composite.period_mean_db(cube, period, season), "mean")
        ds.attrs.update(crs=cube.attrs.get("crs"), sensor="sentinel-1")
        return ds

    path = _store(run, "s1_composite", period)
    return _matching_grid(cached_zarr(path, make, overwrite), grid, path)


def enmap_composite(
    source: StacSource, items, grid, run: RunFolder, overwrite: bool = False
) -> xr.Dataset:
    """The clearest EnMAP acquisition per pixel (30 m), ``enmap_clearest.zarr``.

    Returns
    -------
    xarray.Dataset
        ``reflectance`` ``(band, y, x)`` with the ``wavelength`` coordinate.
    """

    def make() -> xr.Dataset:
        cube = load.load_enmap(items, source.provider, grid)
        cover = [it.properties.get("eo:cloud_cover", 0.0) for it in load.by_time(items)]
        best = composite.clearest(cube, cover)
        return best.to_dataset(name="reflectance").assign_attrs(
            crs=cube.attrs["crs"], sensor="enmap"
        )

    path = run.path / "enmap_clearest.zarr"
    return _matching_grid(cached_zarr(path, make, overwrite), grid, path)


def _store(run: RunFolder, name: str, period: str) -> Path:
    suffix = "" if period == "month" else f"_{period}"
    return run.path / f"{name}{suffix}.zarr"


def run_parcels(
    config,
    parcels_path: str | None = None,
    run: RunFolder | None = None,
    code_column: str = "CODE_CULTU",
    crop_codes: str = "rpg",
) -> gpd.GeoDataFrame:
    """The checked parcels of the run: a user file, IGN's RPG service, or the demo's.

    Parameters
    ----------
    config : cropkit.config.RunConfig
        The run.
    parcels_path : str, optional
        A GeoParquet, GeoPackage, Shapefile or GeoJSON file with a ``CODE_CULTU``
        column, or ``"ign-wfs"`` to download the RPG of the study area from IGN's
        public WFS (saved in the run folder as ``rpg_<bbox>.parquet`` and reused for the
        same area). Required for
        real providers; the demo's simulated parcels otherwise.
    run : cropkit.run.RunFolder, optional
        Where ``"ign-wfs"`` keeps its download (the config's run folder by default).
    code_column : str
        The crop-code column of a user file (``"EC_hcat_c"`` in EuroCrops files).
    crop_codes : str
        How codes map into the four tiers: ``"rpg"`` (French ``CODE_CULTU``), ``"hcat3"``
        (EuroCrops HCAT3, any EU country) or the path of your own table (see
        :func:`cropkit.taxonomy.load_taxonomy`). Codes the mapping lacks are counted and
        dropped with a warning.

    Returns
    -------
    geopandas.GeoDataFrame
        With columns ``tier4`` ... ``tier1`` (see :func:`cropkit.labels.check_parcels`,
        which also warns about and counts dropped parcels).
    """
    if parcels_path == "ign-wfs":
        from .rpg import fetch_rpg

        west, south, east, north = config.bbox
        name = f"rpg_{west:.4f}_{south:.4f}_{east:.4f}_{north:.4f}.parquet"  # one per area
        path = (run or RunFolder.for_config(config)).path / name
        if not path.exists():
            fetch_rpg(config.bbox, config.growing_season.year).to_parquet(path)
        return labels.within_grid(labels.read_parcels(path)[0], config.grid)
    if parcels_path:
        taxonomy = load_taxonomy(crop_codes)
        parcels = labels.read_parcels(parcels_path, code_column, taxonomy)[0]
        return labels.within_grid(parcels, config.grid)
    if config.is_demo:
        from .endpoint import demo_data

        parcels = labels.check_parcels(demo_data(config).parcels())[0]
        return labels.within_grid(parcels, config.grid)
    raise DataError(
        "Give parcels_path (an RPG file with CODE_CULTU, or 'ign-wfs' to download the RPG "
        "from IGN) to use parcels with real data."
    )


def training_inputs(config, inputs: Iterable[str], compare: bool = False) -> list[str]:
    """The composites a training run needs.

    ``inputs`` themselves, plus (for a comparison) whichever of Sentinel-1 and EnMAP the
    run's provider offers.

    Raises
    ------
    ConfigError
        If the provider does not offer one of ``inputs``.
    """
    provider = config.provider
    wanted = list(inputs)
    for name in wanted:
        provider.collection(name)  # fails with the provider's offer
    extra = [name for name in ("s1", "enmap") if compare and name in provider.collections]
    return sorted({*wanted, *extra})


def load_composites(
    source: StacSource | None,
    config,
    run: RunFolder,
    inputs: Iterable[str] = ("s2", "s1", "enmap"),
    period: str | None = None,
) -> dict[str, xr.Dataset]:
    """The composites of notebook 03, built now if it has not run.

    Parameters
    ----------
    source : StacSource or None
        Where to fetch items if a composite must be built (``None``: connect with
        :func:`cropkit.endpoint.connect` only when needed).
    config : cropkit.config.RunConfig
        The run.
    run : RunFolder
        The run folder.
    inputs : iterable of str
        Any of ``"s2"``, ``"s1"``, ``"enmap"``.
    period : str, optional
        Compositing period; by default the one notebook 03 used for this run (recorded
        in the manifest), else ``"month"``.

    Returns
    -------
    dict
        Input name -> composite dataset.
    """
    inputs = list(inputs)
    if period is None:
        period = run.notebook_parameters("03_composites").get("period", "month")
    unknown = sorted(set(inputs) - {"s2", "s1", "enmap"})
    if unknown:
        raise DataError(f"Unknown inputs {unknown}; choose from 's2', 's1', 'enmap'.")
    stores = {
        "s2": _store(run, "s2_composite", period),
        "s1": _store(run, "s1_composite", period),
        "enmap": run.path / "enmap_clearest.zarr",
    }
    out = {}
    for name in inputs:
        if stores[name].exists():
            out[name] = _matching_grid(open_zarr(stores[name]), config.grid, stores[name])
            continue
        if source is None:
            from .endpoint import connect

            source = connect(config)
        items = run_items(source, run, config, name)
        if name == "s2":
            keep, buffer_px = mask_settings(run)
            masked = masked_s2(source, items, config.grid, keep, buffer_px)
            out[name] = s2_composite(masked, run, period, config.growing_season)
        elif name == "s1":
            season = config.growing_season
            out[name] = s1_composite(source, items, config.grid, run, period, season)
        else:
            out[name] = enmap_composite(source, items, config.grid, run)
    return out


def _matching_grid(ds: xr.Dataset, grid, path: Path) -> xr.Dataset:
    """``ds`` if it covers ``grid`` (a :class:`~cropkit.regions.SceneGrid`), else a clear error."""
    xmin, ymin, xmax, ymax = grid.bounds
    res = abs(float(ds["x"][1] - ds["x"][0]))
    edges = (
        float(ds["x"].min()) - res / 2,
        float(ds["y"].min()) - res / 2,
        float(ds["x"].max()) + res / 2,
        float(ds["y"].max()) + res / 2,
    )
    if max(abs(a - b) for a, b in zip(edges, (xmin, ymin, xmax, ymax))) >= res:
        raise DataError(
            f"{path} covers another study area than this run ({grid.shape[1]} x "
            f"{grid.shape[0]} px): it was made with other parameters (another profile?). Use "
            "another run_root for this profile, or rerun notebook 03 with overwrite=True."
        )
    return ds


def mask_settings(run: RunFolder) -> tuple[list[int], int]:
    """The SCL keep-set and buffer chosen in notebook 02 for this run (or the defaults)."""
    params = run.notebook_parameters("02_cloud_masking")
    return list(params.get("keep_classes", cloudmask.DEFAULT_KEEP)), int(params.get("buffer_px", 1))


def mask_scores(
    s2: MaskedS2, grid, keep: Iterable[int], buffers: Iterable[int] = (0, 1, 2, 3)
) -> pd.DataFrame | None:
    """Precision and recall of the SCL mask for several buffers, against the demo's truth.

    Returns ``None`` for real data (only simulated items carry a ``cloud_truth`` asset).
    """
    if not all("cloud_truth" in it.assets for it in s2.items):
        return None
    truth = load.load_truth(s2.items, grid).values
    scl = s2.scl.values
    rows = []
    for buffer_px in buffers:
        clear = cloudmask.clear_mask(xr.DataArray(scl, dims=s2.scl.dims), keep, buffer_px).values
        rows.append(
            {
                "buffer_px": buffer_px,
                **cloudmask.score_mask(clear, truth),
                "kept": float(clear.mean()),
            }
        )
    return pd.DataFrame(rows).set_index("buffer_px")


def save_mask_summary(
    run: RunFolder, fraction: xr.DataArray, count: xr.DataArray, scores: pd.DataFrame | None
) -> dict[str, Path]:
    """Write notebook 02's products: ``cloudmask.zarr`` and ``cloudmask_scores.csv``."""
    ds = xr.Dataset({"clear_fraction": fraction.astype("float32"), "valid_count": count})
    products = {"cloudmask": write_zarr(ds, run.path / "cloudmask.zarr")}
    if scores is not None:
        path = run.path / "cloudmask_scores.csv"
        scores.round(4).to_csv(path)
        products["cloudmask_scores"] = path
    return products
