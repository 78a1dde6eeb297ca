"""What the simulator knows and real data never tells: when two crops differ.

Two look-alike crops (soft and durum wheat, grain and silage maize) are only
separable on some dates: when one is sown, greens up, flowers or is harvested and the
other not yet. The simulator draws every parcel's canopy from its crop's calendar
(:func:`cropkit.demo.phenology.parcel_trajectories`), so it can say on which dates the
two canopies differ most, with the parcel-to-parcel spread of calendars and vigour
included. Notebook 05 scores the models' attention and attributions against this.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..core.errors import ConfigError
from .phenology import crop_parameters, parcel_trajectories

__all__ = ["canopy_separation"]


def _fcover(lai: np.ndarray) -> np.ndarray:
    """Fraction of the ground the canopy hides (Beer-Lambert, extinction 0.5)."""
    return 1.0 - np.exp(-0.5 * lai)


def canopy_separation(
    pairs,
    starts,
    parcels: int = 200,
    seed: int = 0,
) -> xr.DataArray:
    """How far apart the simulated canopies of two crops are in each period.

    For each crop, ``parcels`` parcels are simulated through the year; each canopy
    variable a sensor sees (fractional cover, senescence, flowers) is averaged over the
    days of each period; the separation of two crops in a period is the Euclidean norm
    over variables of ``|mean_a - mean_b| / sqrt((var_a + var_b) / 2 + 0.01^2)``: a
    standardised difference, large when the crops differ more than their parcels vary.

    Parameters
    ----------
    pairs : sequence of (str, str)
        Tier-4 crop names (``data/crops.csv``).
    starts : array-like of datetime64
        ``(time,)`` first day of each compositing period (one year's periods).
    parcels : int
        Parcels simulated per crop.
    seed : int
        Seed of the simulation.

    Returns
    -------
    xarray.DataArray
        ``(pair, time)`` separation, coordinates ``a`` and ``b`` (the crops) per pair
        and ``time`` (the period starts).

    Raises
    ------
    ConfigError
        If a crop has no phenology in ``data/crops.csv``.
    """
    pairs = [tuple(p) for p in pairs]
    crops = sorted({c for pair in pairs for c in pair})
    unknown = [c for c in crops if c not in crop_parameters().index]
    if unknown:
        raise ConfigError(f"No simulated calendar for {unknown}: see data/crops.csv.")
    starts = pd.DatetimeIndex(np.asarray(starts))
    year = starts[0].year
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    traj = parcel_trajectories(
        np.repeat(crops, parcels), days.dayofyear.to_numpy(), np.random.default_rng(seed)
    )
    variables = {"fcover": _fcover(traj.lai), "brown": traj.brown / 2.0, "flower": traj.flower}
    period = np.searchsorted(starts.to_numpy(), days.to_numpy(), side="right") - 1
    stats = {}
    for name, values in variables.items():  # (crop * parcels, day) -> (crop, parcel, period)
        per = np.stack(
            [values[:, period == k].mean(axis=1) for k in range(len(starts))], axis=1
        ).reshape(len(crops), parcels, len(starts))
        stats[name] = (per.mean(axis=1), per.var(axis=1))
    index = {c: i for i, c in enumerate(crops)}
    out = np.zeros((len(pairs), len(starts)))
    for i, (a, b) in enumerate(pairs):
        for mean, var in stats.values():
            diff = mean[index[a]] - mean[index[b]]
            out[i] += diff**2 / ((var[index[a]] + var[index[b]]) / 2 + 1e-4)
    return xr.DataArray(
        np.sqrt(out),
        dims=("pair", "time"),
        coords={
            "a": ("pair", [a for a, _ in pairs]),
            "b": ("pair", [b for _, b in pairs]),
            "time": starts.to_numpy(),
        },
        name="separation",
    )
