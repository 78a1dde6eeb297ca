"""WorldCereal extractions: labelled samples with monthly Sentinel-2 and Sentinel-1 series.

The ESA WorldCereal project publishes its reference data as tables of one row per
sample: metadata (``sample_id``, ``ref_id``, ``ewoc_code``, ``lat``, ``lon``,
``start_date``, ...) and a column per band and monthly step,
``<SENSOR>-<BAND>-ts<k>-<res>`` (``OPTICAL-B04-ts3-10m``, ``SAR-VV-ts3-20m``).
:func:`read_worldcereal` decodes such a table into arrays with WorldCereal's scalings
(reflectance x 10,000; backscatter as ``20 log10(DN) - 83`` dB; 65535 for no data) and
:func:`from_worldcereal` makes a cropkit pixel dataset of it, ready for every pixel model.

Examples
--------
>>> ds = from_worldcereal("extractions.parquet", taxonomy="ewoc_tiers.csv")  # doctest: +SKIP
>>> ck.train.fit_and_score("tempcnn", ds, inputs=("s2", "s1"))             # doctest: +SKIP
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from os import PathLike

import numpy as np
import pandas as pd
import xarray as xr

from ..core.errors import DataError

__all__ = ["WorldCerealSamples", "read_worldcereal", "from_worldcereal", "OPTICAL", "RADAR"]

#: Sentinel-2 bands in the order cropkit stacks them, and Sentinel-1 polarisations.
OPTICAL = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
RADAR = ("VV", "VH")
#: WorldCereal's no-data value of the band columns.
NODATA = 65535
_COLUMN = re.compile(r"^(?P<sensor>OPTICAL|SAR)-(?P<band>[A-Z0-9]+)-ts(?P<step>\d+)-\d+m$")
_META = ("sample_id", "ref_id", "ewoc_code", "lat", "lon", "start_date")


@dataclass
class WorldCerealSamples:
    """A WorldCereal table decoded into arrays.

    Attributes
    ----------
    s2 : numpy.ndarray
        ``(sample, time, band)`` float32 surface reflectance (bands :data:`OPTICAL`),
        NaN where the table has no data.
    s1 : numpy.ndarray
        ``(sample, time, pol)`` float32 backscatter in dB (:data:`RADAR`), NaN where
        missing.
    dates : numpy.ndarray
        ``(time,)`` datetime64: the middle of each monthly step (all samples share
        one start date), or ``(sample, time)`` when their start dates differ.
    labels : numpy.ndarray
        ``(sample,)`` int64 WorldCereal crop codes (``ewoc_code``).
    meta : pandas.DataFrame
        One row per sample: ``sample_id``, ``ref_id``, ``lat``, ``lon`` and the other
        metadata columns of the table.
    """

    s2: np.ndarray
    s1: np.ndarray
    dates: np.ndarray
    labels: np.ndarray
    meta: pd.DataFrame


def _band_columns(table: pd.DataFrame, sensor: str, bands: tuple[str, ...]) -> list[list[str]]:
    """Column names ``[step][band]`` of one sensor, every step and band checked present."""
    found: dict[tuple[str, int], str] = {}
    for column in table.columns:
        match = _COLUMN.match(str(column))
        if match and match["sensor"] == sensor:
            found[match["band"], int(match["step"])] = column
    steps = sorted({step for _, step in found})
    missing = [f"{sensor}-{b}-ts{k}" for k in steps for b in bands if (b, k) not in found]
    if not steps or missing:
        missing = missing[:4] or [f"{sensor}-<band>-ts<k>-<res>m"]
        raise DataError(
            f"The table lacks WorldCereal {sensor} columns {missing}: it needs "
            f"{list(bands)} at every monthly step (columns like "
            f"'{sensor}-{bands[0]}-ts0-10m')."
        )
    if steps != list(range(len(steps))):
        raise DataError(f"The {sensor} time steps are not 0 ... n-1 without gaps: {steps}.")
    return [[found[b, k] for b in bands] for k in steps]


def _decode(values: np.ndarray, to_physical) -> np.ndarray:
    values = values.astype(np.float64)
    bad = (values == NODATA) | (values <= 0) | ~np.isfinite(values)
    out = to_physical(np.where(bad, 1.0, values))
    out[bad] = np.nan
    return out.astype(np.float32)


def read_worldcereal(source: str | PathLike | pd.DataFrame) -> WorldCerealSamples:
    """Decode a WorldCereal extraction table (Parquet file or DataFrame) into arrays.

    Parameters
    ----------
    source : path-like or pandas.DataFrame
        A table with WorldCereal's columns (see the module docstring).

    Returns
    -------
    WorldCerealSamples
        Reflectance (DN / 10,000) and backscatter in dB (``20 log10(DN) - 83``), NaN
        where the table holds 65535; monthly dates from each sample's ``start_date``.

    Raises
    ------
    DataError
        If the file cannot be read or a needed column is missing.
    """
    if isinstance(source, pd.DataFrame):
        table = source
    else:
        try:
            table = pd.read_parquet(source)
        except (OSError, ValueError) as err:
            raise DataError(f"Could not read a WorldCereal table from {source}: {err}") from err
    missing = [c for c in _META if c not in table.columns]
    if missing:
        raise DataError(
            f"The table lacks the WorldCereal columns {missing}; it has "
            f"{[c for c in table.columns if '-ts' not in str(c)][:12]}."
        )
    optical = _band_columns(table, "OPTICAL", OPTICAL)
    radar = _band_columns(table, "SAR", RADAR)
    if len(optical) != len(radar):
        raise DataError(f"{len(optical)} optical and {len(radar)} radar steps: they must match.")
    s2 = np.stack([table[cols].to_numpy() for cols in optical], axis=1)
    s1 = np.stack([table[cols].to_numpy() for cols in radar], axis=1)
    start = pd.to_datetime(table["start_date"]).dt.to_period("M").dt.to_timestamp()
    steps = np.arange(len(optical))
    mids = np.array(
        [[s + pd.DateOffset(months=int(k), days=14) for k in steps] for s in start.unique()],
        dtype="datetime64[ns]",
    )
    if len(mids) > 1:  # starts differ: per-sample dates
        first = {s: i for i, s in enumerate(start.unique())}
        mids = mids[start.map(first).to_numpy()]
    else:
        mids = mids[0]
    return WorldCerealSamples(
        s2=_decode(s2, lambda v: v / 10_000),
        s1=_decode(s1, lambda v: 20 * np.log10(v) - 83),
        dates=mids,
        labels=table["ewoc_code"].to_numpy(np.int64),
        meta=table[[c for c in table.columns if "-ts" not in str(c)]].reset_index(drop=True),
    )


def from_worldcereal(
    source: str | PathLike | pd.DataFrame | WorldCerealSamples,
    taxonomy=None,
    split: np.ndarray | None = None,
    fold: np.ndarray | None = None,
    seed: int = 0,
) -> xr.Dataset:
    """A cropkit pixel dataset of a WorldCereal table: S2 and S1 monthly, crop codes.

    Parameters
    ----------
    source : path-like, DataFrame or WorldCerealSamples
        The table, or what :func:`read_worldcereal` made of it.
    taxonomy : optional
        Maps ``ewoc_code`` to the four tiers (a table with ``code, tier4 ... tier1``);
        by default every code is a class of its own (a flat taxonomy).
    split, fold, seed :
        As in :func:`cropkit.datasets.from_arrays`.

    Returns
    -------
    xarray.Dataset
        As :func:`~cropkit.datasets.from_arrays`, with ``s1`` on the optical dates, each
        sample its own parcel, and the coordinates ``sample_id``, ``ref_id``, ``lat``,
        ``lon`` ``(sample,)``.
    """
    from .arrays import from_arrays

    samples = source if isinstance(source, WorldCerealSamples) else read_worldcereal(source)
    if samples.dates.ndim != 1:
        raise DataError(
            "The samples start on different dates, and the radar stream takes one set of "
            "dates: select the samples of one season (one start_date) first."
        )
    ds = from_arrays(
        samples.s2,
        samples.dates,
        samples.labels,
        band_names=list(OPTICAL),
        s1=samples.s1,
        s1_doy=samples.dates,
        pol_names=list(RADAR),
        split=split,
        fold=fold,
        taxonomy="flat" if taxonomy is None else taxonomy,
        seed=seed,
    )
    meta = samples.meta
    return ds.assign_coords(
        {name: ("sample", meta[name].to_numpy()) for name in ("sample_id", "ref_id", "lat", "lon")}
    )
