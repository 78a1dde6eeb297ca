"""Notebook 03's stage: gap-filled composites, their names, and the grid they must cover.

Products (in the run folder): ``s2_composite.zarr`` and ``s1_composite.zarr`` (monthly;
``s2_composite_<period>.zarr`` for another period) and ``enmap_clearest.zarr``. Later
notebooks open them with :func:`load_composites`, which takes notebook 03's period
from the manifest, so they never rebuild composites of another period by mistake.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import xarray as xr

from ..access import load
from ..access.providers import offered_sensors
from ..access.stac import StacSource
from ..compute import composite, gapfill
from ..core.errors import DataError
from ..core.regions import SceneGrid
from ..core.run import RunFolder
from ..core.store import cached_zarr, open_zarr
from .discovery import run_items
from .masking import MaskedS2, run_masked_s2

if TYPE_CHECKING:
    from ..config import RunConfig
    from ..endpoint import RunSource
    from .parameters import MaskingParameters

__all__ = [
    "NOTEBOOK",
    "SENSORS",
    "offers",
    "composite_products",
    "composite_path",
    "compositing_period",
    "s2_composite",
    "s1_composite",
    "enmap_composite",
    "load_composites",
    "matching_grid",
]

#: The notebook of this stage, as the manifest names it.
NOTEBOOK = "03_composites"
#: The sensors composited, in the order notebook 03 makes them.
SENSORS = ("s2", "s1", "enmap")
_STORES = {"s2": "s2_composite", "s1": "s1_composite", "enmap": "enmap_clearest"}


def composite_path(run: RunFolder, sensor: str, period: str = "month") -> Path:
    """Where the composite of ``sensor`` over ``period`` lives in the run folder.

    EnMAP has one composite (its clearest acquisition), whatever the period.

    Raises
    ------
    DataError
        For a sensor other than ``"s2"``, ``"s1"``, ``"enmap"``.
    """
    if sensor not in _STORES:
        raise DataError(f"Unknown input {sensor!r}; choose from {list(SENSORS)}.")
    suffix = "" if period == "month" or sensor == "enmap" else f"_{period}"
    return run.path / f"{_STORES[sensor]}{suffix}.zarr"


def compositing_period(run: RunFolder) -> str:
    """The period notebook 03 composited this run with.

    Raises
    ------
    DataError
        If notebook 03 has not recorded it for this run: run it first, or give the
        period (``load_composites(..., period="month")``).
    """
    from .parameters import CompositeParameters

    return CompositeParameters.recorded(run).period


def s2_composite(
    s2: MaskedS2,
    run: RunFolder,
    config: RunConfig,
    period: str = "month",
    overwrite: bool = False,
) -> xr.Dataset:
    """Gap-filled median composites of Sentinel-2 over the run's season (cached).

    Returns
    -------
    xarray.Dataset
        ``median`` ``(period, band, y, x)``, ``count`` and ``flags`` ``(period, y, x)``.
    """

    def make() -> xr.Dataset:
        # masked as each period is gathered: the masked cube is never made
        ds = composite.period_median(s2.reflectance, period, config.growing_season, s2.clear)
        ds = gapfill.fill_gaps(ds, "median")
        ds.attrs.update(crs=s2.reflectance.attrs.get("crs"), sensor="sentinel-2")
        return ds

    path = composite_path(run, "s2", period)
    settings = {
        "period": period,
        "keep_classes": s2.clear.attrs.get("keep"),
        "buffer_px": s2.clear.attrs.get("buffer_px"),
        **_scenes(s2.items),
    }
    return matching_grid(cached_zarr(path, make, overwrite, settings), config.grid, path)


def offers(config: RunConfig, sensor: str) -> bool:
    """Whether the run's provider offers ``sensor``; if not, a note says its composite is skipped.

    Warns
    -----
    SensorSkippedWarning
        When it does not (Earth Search has no Sentinel-1 or EnMAP), naming providers
        that do.
    """
    return bool(offered_sensors(config.provider, [sensor], f"notebook {NOTEBOOK} goes on"))


def composite_products(run: RunFolder, config: RunConfig, period: str = "month") -> dict:
    """Product name -> path of the run's composites (of the sensors its provider offers)."""
    return {
        _STORES[sensor]: composite_path(run, sensor, period)
        for sensor in SENSORS
        if sensor in config.provider.collections
    }


def s1_composite(
    source: StacSource,
    run: RunFolder,
    config: RunConfig,
    period: str = "month",
    overwrite: bool = False,
) -> xr.Dataset:
    """Gap-filled mean backscatter (dB, averaged in linear power) of the run's items.

    Returns
    -------
    xarray.Dataset
        ``mean`` ``(period, band, y, x)`` with bands ``VV``, ``VH``; ``count``, ``flags``.
    """
    items = run_items(source, run, config, "s1")

    def make() -> xr.Dataset:
        cube = load.load_s1(items, source.provider, config.grid)
        ds = composite.period_mean_db(cube, period, config.growing_season)
        ds = gapfill.fill_gaps(ds, "mean")
        ds.attrs.update(crs=cube.attrs.get("crs"), sensor="sentinel-1")
        return ds

    path = composite_path(run, "s1", period)
    settings = {"period": period, **_scenes(items)}
    return matching_grid(cached_zarr(path, make, overwrite, settings), config.grid, path)


def enmap_composite(
    source: StacSource, run: RunFolder, config: RunConfig, overwrite: bool = False
) -> xr.Dataset:
    """The clearest EnMAP acquisition per pixel (30 m) of the run's items.

    Returns
    -------
    xarray.Dataset
        ``reflectance`` ``(band, y, x)`` with the ``wavelength`` coordinate.
    """
    items = run_items(source, run, config, "enmap")

    def make() -> xr.Dataset:
        cube = load.load_enmap(items, source.provider, config.grid)
        cover = [it.properties.get("eo:cloud_cover", 0.0) for it in load.by_time(items)]
        best = composite.clearest(cube, cover)
        return best.to_dataset(name="reflectance").assign_attrs(
            crs=cube.attrs["crs"], sensor="enmap"
        )

    path = composite_path(run, "enmap")
    return matching_grid(cached_zarr(path, make, overwrite, _scenes(items)), config.grid, path)


def _scenes(items) -> dict:
    """How many scenes a composite is made of, and a digest of their ids (its settings)."""
    ids = sorted(item.id for item in items)
    digest = hashlib.sha1("\n".join(ids).encode()).hexdigest()[:12]
    return {"scenes": len(ids), "scene_ids_sha1": digest}


def load_composites(
    source: RunSource,
    run: RunFolder,
    inputs: Iterable[str] = SENSORS,
    period: str | None = None,
    mask: MaskingParameters | None = None,
) -> dict[str, xr.Dataset]:
    """The composites of notebook 03, built now if it has not run.

    Parameters
    ----------
    source : RunSource
        The run's data (:func:`cropkit.endpoint.open_source`); its STAC API is
        connected only if a composite must be built.
    run : RunFolder
        The run folder.
    inputs : iterable of str
        Any of ``"s2"``, ``"s1"``, ``"enmap"``.
    period : str, optional
        Compositing period; by default the one notebook 03 used for this run (see
        :func:`compositing_period`).
    mask : MaskingParameters, optional
        The cloud mask of a Sentinel-2 composite built here; by default notebook 02's.

    Returns
    -------
    dict
        Input name -> composite dataset.
    """
    config, inputs = source.config, list(inputs)
    period = compositing_period(run) if period is None else period
    paths = {name: composite_path(run, name, period) for name in inputs}  # checks the names
    out = {}
    for name, path in paths.items():
        if path.exists():
            stored = open_zarr(path, remedy=f"rerun notebook {NOTEBOOK}")
            out[name] = matching_grid(stored, config.grid, path)
            continue
        stac = source.stac
        if name == "s2":
            chosen = (
                {}
                if mask is None
                else {
                    "keep": mask.keep_classes,
                    "buffer_px": mask.buffer_px,
                    "check_readable": mask.check_cogs,
                }
            )
            s2 = run_masked_s2(stac, run, config, **chosen)
            out[name] = s2_composite(s2, run, config, period)
        elif name == "s1":
            out[name] = s1_composite(stac, run, config, period)
        else:
            out[name] = enmap_composite(stac, run, config)
    return out


def matching_grid(ds: xr.Dataset, grid: SceneGrid, path: Path) -> xr.Dataset:
    """``ds`` if it covers ``grid``, else a clear error naming ``path``.

    Raises
    ------
    DataError
        If the composite covers another study area (made with other parameters).
    """
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
