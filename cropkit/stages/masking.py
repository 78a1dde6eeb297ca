"""Notebook 02's stage: masked Sentinel-2 cubes, the mask's scores and its summary.

Products (in the run folder): ``cloudmask.zarr`` (clear share per date, valid
observations per pixel) and, on the demo, ``cloudmask_scores.csv``. Later stages take
notebook 02's SCL classes and buffer from the manifest (:func:`mask_settings`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import dask
import numpy as np
import pandas as pd
import pystac
import xarray as xr

from ..access import load
from ..access.providers import Provider
from ..access.reflectance_check import check_reflectance
from ..access.stac import StacSource
from ..compute import cloudmask
from ..core.regions import SceneGrid
from ..core.run import RunFolder
from ..core.store import write_zarr
from .discovery import run_items

if TYPE_CHECKING:
    from ..config import RunConfig

__all__ = [
    "NOTEBOOK",
    "PRODUCTS",
    "MaskedS2",
    "masked_s2",
    "run_masked_s2",
    "mask_summary",
    "mask_settings",
    "mask_scores",
    "save_mask_summary",
]

#: The notebook of this stage, as the manifest names it.
NOTEBOOK = "02_cloud_masking"
#: Product name -> file in the run folder.
PRODUCTS = {"cloudmask": "cloudmask.zarr", "cloudmask_scores": "cloudmask_scores.csv"}


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
    grid : cropkit.core.regions.SceneGrid, optional
        The study area's grid.
    provider : cropkit.access.providers.Provider, optional
        The items' provider (asset names and reflectance convention).
    """

    reflectance: xr.DataArray
    scl: xr.DataArray
    clear: xr.DataArray
    items: pystac.ItemCollection
    grid: SceneGrid | None = None
    provider: Provider | None = None

    @property
    def masked(self) -> xr.DataArray:
        """Reflectance with cloudy observations set to NaN."""
        return cloudmask.apply_mask(self.reflectance, self.clear)

    def on_date(self, when) -> MaskedS2:
        """The acquisition nearest ``when`` alone, read from its own files.

        A chunk of the season's cube holds every date of a tile, so selecting one date
        from it reads them all; this reads that date's files only (with the same SCL
        classes and buffer).

        Returns
        -------
        MaskedS2
            With one date: ``reflectance`` ``(time: 1, band, y, x)``, ``scl`` and
            ``clear`` ``(time: 1, y, x)``.
        """
        times = self.reflectance.get_index("time")
        index = int(np.abs(times - pd.Timestamp(when)).argmin())
        if self.grid is None or self.provider is None:
            pick = {"time": [index]}
            return MaskedS2(
                self.reflectance.isel(pick),
                self.scl.isel(pick),
                self.clear.isel(pick),
                pystac.ItemCollection([list(self.items)[index]]),
                self.grid,
                self.provider,
            )
        keep, buffer_px = self.clear.attrs["keep"], self.clear.attrs["buffer_px"]
        item = [list(self.items)[index]]
        reflectance = load.load_s2(item, self.provider, self.grid)
        scl = load.load_scl(item, self.provider, self.grid)
        clear = cloudmask.clear_mask(scl, keep=keep, buffer_px=buffer_px)
        return MaskedS2(
            reflectance, scl, clear, pystac.ItemCollection(item), self.grid, self.provider
        )


def masked_s2(
    source: StacSource,
    items: pystac.ItemCollection,
    grid: SceneGrid,
    keep: Iterable[int] = cloudmask.DEFAULT_KEEP,
    buffer_px: int = 0,
    check_readable: bool = False,
    check_offsets: bool | None = None,
) -> MaskedS2:
    """Load Sentinel-2 reflectance and SCL lazily and build the clear mask.

    Items with a missing asset, or (with ``check_readable``, which opens every COG
    header first) an unreadable COG, or that do not reach the study area, are skipped
    with a :class:`~cropkit.access.load.SkippedItemsWarning` that names and counts them.
    Without the check an unreadable COG becomes NaN when computed.

    ``check_offsets`` runs :func:`cropkit.access.reflectance_check.check_reflectance` on a
    sample of pixels
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
        check_reflectance(reflectance, scl)
    clear = cloudmask.clear_mask(scl, keep=keep, buffer_px=buffer_px)
    return MaskedS2(reflectance, scl, clear, items, grid, source.provider)


def run_masked_s2(
    source: StacSource,
    run: RunFolder,
    config: RunConfig,
    keep: Iterable[int] | None = None,
    buffer_px: int | None = None,
    check_readable: bool | None = None,
) -> MaskedS2:
    """The run's Sentinel-2, masked as notebook 02 chose.

    ``keep``, ``buffer_px`` and ``check_readable`` override notebook 02's choice. The
    items are those notebook 01 recorded (searched now if it has not run).
    """
    if keep is None or buffer_px is None or check_readable is None:
        chosen_keep, chosen_buffer, chosen_check = mask_settings(run)
        keep = chosen_keep if keep is None else keep
        buffer_px = chosen_buffer if buffer_px is None else buffer_px
        check_readable = chosen_check if check_readable is None else check_readable
    items = run_items(source, run, config, "s2")
    keep = list(keep)
    return masked_s2(source, items, config.grid, keep, buffer_px, check_readable)


def mask_summary(s2: MaskedS2) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """What the mask leaves, computed in one pass over the SCL.

    Returns
    -------
    breakdown : xarray.DataArray
        Share of each SCL class per date, dims ``(time, scl_class)``
        (:func:`cropkit.compute.cloudmask.class_breakdown`).
    fraction : xarray.DataArray
        Clear share of the observed pixels per date, dims ``(time,)``.
    count : xarray.DataArray
        Clear observations per pixel, dims ``(y, x)``.
    """
    return dask.compute(
        cloudmask.class_breakdown(s2.scl),
        cloudmask.clear_fraction(s2.clear, s2.scl),
        cloudmask.valid_count(s2.clear),
    )


def mask_settings(run: RunFolder) -> tuple[list[int], int, bool]:
    """The SCL keep-set, buffer and COG check chosen in notebook 02.

    Raises
    ------
    DataError
        If notebook 02 has not run for this run: run it first, or give the settings
        (``run_masked_s2(..., keep=..., buffer_px=..., check_readable=...)``).
    """
    from .parameters import MaskingParameters

    params = MaskingParameters.recorded(run)
    return list(params.keep_classes), int(params.buffer_px), bool(params.check_cogs)


def mask_scores(
    s2: MaskedS2, grid: SceneGrid, keep: Iterable[int], buffers: Iterable[int] = (0, 1, 2, 3)
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
    products = {"cloudmask": write_zarr(ds, run.path / PRODUCTS["cloudmask"])}
    if scores is not None:
        path = run.path / PRODUCTS["cloudmask_scores"]
        scores.round(4).to_csv(path)
        products["cloudmask_scores"] = path
    return products
