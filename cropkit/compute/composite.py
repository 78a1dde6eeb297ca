"""Temporal composites: period medians of masked time series, fast.

The observations of each period (month, half-month or 10-day dekad) are reduced with
``bottleneck.nanmedian`` on whole spatial blocks: the time axis of a block is sliced
once per period instead of building one task per group, which is what makes this much
faster than ``cube.groupby("time.month").median()`` for the same values (see
``benchmarks/bench_composite.py``). On dask arrays the work is one task per spatial
chunk, so a zone larger than memory is processed chunk by chunk; that task takes the
chunk's blocks of every date and band as they come and copies one period at a time into
one buffer, never the whole series into one array (a season of a 512 x 512 tile is
0.75 GB). Given the clear mask (``clear=``), it masks clouds in that copy: the masked
cube is never made.

Examples
--------
>>> import numpy as np, pandas as pd, xarray as xr
>>> t = pd.to_datetime(["2023-01-05", "2023-01-20", "2023-01-25", "2023-03-01"])
>>> cube = xr.DataArray(np.array([1.0, 2.0, 9.0, 4.0]).reshape(4, 1, 1, 1),
...                     dims=("time", "band", "y", "x"), coords={"time": t, "band": ["B04"]})
>>> ds = period_median(cube, "month", season=2023)
>>> ds["median"].values[:3, 0, 0, 0].tolist(), ds["count"].values[:3, 0, 0].tolist()
([2.0, nan, 4.0], [3, 0, 1])
"""

from __future__ import annotations

import datetime as dt
import warnings

import bottleneck as bn
import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr

from ..core.errors import ConfigError
from ..core.seasons import PERIODS as _SEASON_PERIODS
from ..core.seasons import Season, season_for
from .cloudmask import check_mask_grid

__all__ = [
    "PERIODS",
    "OutsideSeasonWarning",
    "period_starts",
    "period_bounds",
    "period_median",
    "period_mean_db",
    "clearest",
]

#: Compositing periods cropkit knows.
PERIODS = tuple(_SEASON_PERIODS)


class OutsideSeasonWarning(UserWarning):
    """Some observations of a cube fall outside the season being composited."""


def period_starts(period: str, season: int | Season) -> pd.DatetimeIndex:
    """First day of every period of a season (a calendar year when given a year).

    Raises
    ------
    ConfigError
        For an unknown period name.
    """
    return (
        season_for(season, "calendar").period_starts(period)
        if isinstance(season, (int, np.integer))
        else season.period_starts(period)
    )


def period_bounds(
    times: pd.DatetimeIndex, starts: pd.DatetimeIndex, season: Season | None = None
) -> np.ndarray:
    """``(period, 2)`` index ranges ``[start, stop)`` of sorted ``times`` in each period.

    With ``season``, the first and last periods are cut at the season's first and last
    day, so observations outside it fall in no period.
    """
    times = pd.DatetimeIndex(times)
    times = times.tz_localize(None) if times.tz else times
    if not times.is_monotonic_increasing:
        raise ConfigError("The cube's times must be sorted; use cube.sortby('time').")
    edges = np.append(starts.values, (starts[-1] + pd.offsets.MonthBegin(1)).to_datetime64())
    if season is not None:
        first = np.datetime64(season.start, "ns")
        after = np.datetime64(season.end + dt.timedelta(days=1), "ns")
        edges = np.clip(edges, first, after)
    idx = np.searchsorted(times.values, edges, side="left")
    return np.stack([idx[:-1], idx[1:]], axis=1)


def _nanmedian(chunk: np.ndarray) -> np.ndarray:
    return bn.nanmedian(chunk, axis=0)


def _nanmean_db(chunk: np.ndarray) -> np.ndarray:
    """Mean in linear power of dB values, back in dB."""
    with np.errstate(divide="ignore"):
        return 10 * np.log10(bn.nanmean(np.power(np.float32(10.0), chunk / 10.0), axis=0))


def _gather(
    blocks: list[list[np.ndarray]], start: int, stop: int, out: np.ndarray | None
) -> np.ndarray:
    """Dates ``[start, stop)`` of a tile's blocks, every band, copied into ``out``.

    ``blocks`` is a list over time chunks of lists over band chunks of ``(time, band, y,
    x)`` arrays (dask's blocks of one tile); ``out`` holds at least ``stop - start`` dates
    (``None``: a new array). Only the period is copied: the tile's whole series is never
    concatenated.

    Returns
    -------
    numpy.ndarray
        ``out[: stop - start]``, dims ``(time, band, y, x)``.
    """
    lengths = [row[0].shape[0] for row in blocks]
    widths = [b.shape[1] for b in blocks[0]]
    if out is None:
        first = blocks[0][0]
        out = np.empty((stop - start, sum(widths), *first.shape[2:]), dtype=first.dtype)
    out = out[: stop - start]
    offset = 0
    for row, length in zip(blocks, lengths):
        lo, hi = max(start - offset, 0), min(stop - offset, length)
        if hi > lo:
            band = 0
            for block, width in zip(row, widths):
                out[offset + lo - start : offset + hi - start, band : band + width] = block[lo:hi]
                band += width
        offset += length
    return out


def _period_block(blocks, clear=None, *, bounds: np.ndarray, reducer) -> np.ndarray:
    """A tile's ``(time, band, y, x)`` blocks -> ``(period, band + 1, y, x)``: values, then count.

    An observation counts only when every band is valid and, with ``clear`` (the tile's
    ``(time, y, x)`` blocks, a list over time chunks), it is clear: the others are set to
    NaN in the period's own copy before the reduction.
    """
    first = blocks[0][0]
    bands = sum(b.shape[1] for b in blocks[0])
    out = np.full((len(bounds), bands + 1, *first.shape[2:]), np.nan, dtype=np.float32)
    # one buffer for every period: memory the process has already touched is much
    # cheaper to write than new memory (a new array per period costs a season's worth)
    longest = int((bounds[:, 1] - bounds[:, 0]).max(initial=0))
    buffer = np.empty((longest, bands, *first.shape[2:]), dtype=np.float32)
    for k, (start, stop) in enumerate(bounds):
        out[k, -1] = 0
        if stop > start:
            chunk = _gather(blocks, start, stop, buffer)
            valid = np.isfinite(chunk).all(axis=1)
            if clear is not None:
                valid &= _gather([[b[:, None]] for b in clear], start, stop, None)[:, 0]
            np.copyto(chunk, np.float32(np.nan), where=~valid[:, None])
            out[k, :-1] = reducer(chunk)
            out[k, -1] = valid.sum(axis=0)
    return out


def _chunked_like(clear, data: da.Array) -> da.Array:
    """A ``(time, y, x)`` mask in the time and spatial chunks of a ``(time, band, y, x)`` cube."""
    return da.asarray(clear).astype(bool).rechunk((data.chunks[0], *data.chunks[2:]))


def _reduce(
    cube: xr.DataArray,
    period: str,
    season: int | Season | None,
    reducer,
    name: str,
    clear: xr.DataArray | None = None,
) -> xr.Dataset:
    if tuple(cube.dims) != ("time", "band", "y", "x"):
        raise ConfigError(f"Expected a cube with dims (time, band, y, x), got {cube.dims}.")
    if clear is not None:
        if set(clear.dims) != {"time", "y", "x"}:
            raise ConfigError(
                f"The clear mask needs dims (time, y, x), got {clear.dims}: pass the "
                "cropkit.compute.cloudmask.clear_mask of the cube's SCL."
            )
        check_mask_grid(cube, clear)
        clear = clear.transpose("time", "y", "x")
    times = pd.DatetimeIndex(cube["time"].values)
    if season is None:
        season = int(times[len(times) // 2].year)
    if not isinstance(season, Season):
        season = season_for(int(season), "calendar")
    starts = season.period_starts(period)
    bounds = period_bounds(times, starts, season)
    outside = int((~season.contains(times)).sum())
    if outside:
        warnings.warn(
            f"{outside} of {len(times)} observations fall outside the season "
            f"({season.describe()}) and were left out of the composites. Search the items "
            "with the season's dates, or give the season that covers them.",
            OutsideSeasonWarning,
            stacklevel=3,
        )
    data = cube.data
    shape_out = (len(starts), cube.sizes["band"] + 1, cube.sizes["y"], cube.sizes["x"])
    if isinstance(data, da.Array):
        # one task per tile takes the tile's blocks of every date and band as they are
        # (time and band contracted): no copy of the whole series in one array
        masks = () if clear is None else (_chunked_like(clear.data, data), "tyx")
        result = da.blockwise(
            _period_block,
            "pbyx",
            data.astype(np.float32),
            "tcyx",
            *masks,
            new_axes={"p": shape_out[0], "b": shape_out[1]},
            dtype=np.float32,
            bounds=bounds,
            reducer=reducer,
        )
    else:
        masks = None if clear is None else [np.asarray(clear.values, dtype=bool)]
        whole = [[np.asarray(data, dtype=np.float32)]]
        result = _period_block(whole, masks, bounds=bounds, reducer=reducer)
    coords = {"period": starts, "band": cube["band"].values, "y": cube["y"], "x": cube["x"]}
    values = xr.DataArray(result[:, :-1], dims=("period", "band", "y", "x"), coords=coords)
    count = xr.DataArray(
        result[:, -1],
        dims=("period", "y", "x"),
        coords={k: coords[k] for k in ("period", "y", "x")},
    )
    ds = xr.Dataset({name: values, "count": count.astype("int16")})
    ds.attrs.update(
        period=period,
        year=season.year,
        season_start=season.start.isoformat(),
        season_end=season.end.isoformat(),
    )
    return ds


def period_median(
    cube: xr.DataArray,
    period: str = "month",
    season: int | Season | None = None,
    clear: xr.DataArray | None = None,
) -> xr.Dataset:
    """Median of the valid observations in each period.

    An observation counts only when all its bands are valid (a pixel at the edge of a
    swath can lack its 20 m bands): partial observations are left out of the median and
    of the count, so that a period is either fully observed or a gap.

    Parameters
    ----------
    cube : xarray.DataArray
        Dims ``(time, band, y, x)``, masked (NaN where cloudy or missing), times sorted.
    period : str
        ``"month"``, ``"half-month"`` or ``"10-day"``.
    season : int or Season, optional
        The season whose periods are made (:class:`cropkit.core.seasons.Season`; a year means
        that calendar year; default: the calendar year of the middle observation).
        Periods without any observation are kept, all NaN, for gap filling; observations
        outside the season are left out with an :class:`OutsideSeasonWarning`.
    clear : xarray.DataArray, optional
        Dims ``(time, y, x)``, bool, on the cube's dates and grid
        (:func:`cropkit.compute.cloudmask.clear_mask`): observations where it is False are left
        out, as if ``cube`` had been masked with :func:`cropkit.compute.cloudmask.apply_mask`,
        without making the masked cube (a season of a 512 x 512 tile is 0.75 GB).

    Returns
    -------
    xarray.Dataset
        ``median`` with dims ``(period, band, y, x)`` (float32) and ``count`` with
        dims ``(period, y, x)``: the number of complete observations behind each value.

    Raises
    ------
    GridMismatchError
        If ``clear`` is not on the cube's dates and grid.
    """
    return _reduce(cube, period, season, _nanmedian, "median", clear)


def period_mean_db(
    cube: xr.DataArray, period: str = "month", season: int | Season | None = None
) -> xr.Dataset:
    """Mean backscatter per period, averaged in linear power and returned in dB.

    Parameters and returns as :func:`period_median` (variable ``mean``), for a cube in dB.
    """
    return _reduce(cube, period, season, _nanmean_db, "mean")


def clearest(cube: xr.DataArray, cloud_cover: np.ndarray | list[float]) -> xr.DataArray:
    """Per pixel, the value of the clearest acquisition that observed it.

    Parameters
    ----------
    cube : xarray.DataArray
        Dims ``(time, band, y, x)``, NaN where not observed.
    cloud_cover : array-like
        ``(time,)`` scene cloud cover (%), used to rank the acquisitions.

    Returns
    -------
    xarray.DataArray
        Dims ``(band, y, x)``, with coordinate ``source_time`` of the scene that
        ranked first overall.
    """
    order = np.argsort(np.asarray(cloud_cover, dtype=float), kind="stable")
    ranked = cube.isel(time=order)
    best = ranked.bfill("time").isel(time=0, drop=True)
    return best.assign_coords(source_time=ranked["time"].values[0])
