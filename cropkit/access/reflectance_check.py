"""A check of Sentinel-2 reflectance offsets on clear vegetation, date by date.

Providers flag whether the -1000 offset of processing baseline >= 04.00 is already
applied (``earthsearch:boa_offset_applied``); on some items the flag is wrong. Clear
vegetation tells: it reflects a few percent of blue and red light.
"""

from __future__ import annotations

import warnings

import dask
import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["check_reflectance", "SuspectReflectanceWarning"]


class SuspectReflectanceWarning(UserWarning):
    """A date's reflectance looks offset by 0.1 (a provider flag that does not match its pixels)."""


#: SCL class of clear vegetation, whose visible reflectance is a few percent.
_SCL_VEGETATION = 4


def check_reflectance(
    reflectance: xr.DataArray, scl: xr.DataArray, stride: int = 8, min_pixels: int = 50
) -> pd.DataFrame:
    """Check each date's reflectance on its clear vegetation pixels, and warn on a bad offset.

    Clear vegetation (SCL 4) reflects a few percent of blue and red light. A date whose
    blue and red come out mostly negative had the -1000 offset subtracted twice (a
    provider flag that says it was not applied, while it was); one whose blue is above
    0.13 lacks it. Either gets a :class:`SuspectReflectanceWarning` that names the item.

    Parameters
    ----------
    reflectance : xarray.DataArray
        Dims ``(time, band, y, x)`` with bands ``B02``, ``B04`` and ``B08`` and the ``id``
        coordinate of :func:`cropkit.access.load.load_s2`.
    scl : xarray.DataArray
        Dims ``(time, y, x)``, on the same grid and dates.
    stride : int
        Read every ``stride``-th pixel along each axis (the check needs a sample only).
    min_pixels : int
        Dates with fewer clear vegetation pixels in the sample are not judged.

    Returns
    -------
    pandas.DataFrame
        One row per date, indexed by item ``id``: ``vegetation_px``, ``blue``, ``red``,
        ``nir`` (medians), ``negative`` (share of negative blue and red values) and
        ``verdict`` (``"ok"``, ``"too dark"``, ``"too bright"`` or ``"not judged"``).
    """
    window = {"y": slice(None, None, stride), "x": slice(None, None, stride)}
    bands = reflectance.sel(band=["B02", "B04", "B08"]).isel(window)
    values, codes = (np.asarray(a) for a in dask.compute(bands.data, scl.isel(window).data))
    ids = [str(v) for v in np.atleast_1d(reflectance["id"].values)]
    rows = []
    for t, item_id in enumerate(ids):
        veg = (codes[t] == _SCL_VEGETATION) & np.isfinite(values[t]).all(axis=0)
        blue, red, nir = (values[t, b][veg] for b in range(3))
        row = {"id": item_id, "vegetation_px": int(veg.sum())}
        if row["vegetation_px"] < min_pixels:
            rows.append({**row, "verdict": "not judged"})
            continue
        negative = float(np.mean(np.concatenate([blue, red]) < 0))
        medians = {k: float(np.median(v)) for k, v in (("blue", blue), ("red", red), ("nir", nir))}
        verdict = "too dark" if negative > 0.5 else "too bright" if medians["blue"] > 0.13 else "ok"
        rows.append({**row, **medians, "negative": negative, "verdict": verdict})
    table = pd.DataFrame(rows).set_index("id")
    for verdict, why in (
        (
            "too dark",
            "mostly negative: the -1000 offset was subtracted from pixels that "
            "already had it removed (a wrong earthsearch:boa_offset_applied flag?)",
        ),
        (
            "too bright",
            "about 0.1 too bright: the -1000 offset of processing baseline "
            ">= 04.00 was not applied",
        ),
    ):
        bad = table.index[table["verdict"] == verdict].tolist()
        if bad:
            warnings.warn(
                f"{len(bad)} of {len(table)} dates have clear-vegetation reflectance {why}: "
                f"{', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''}. Leave these items "
                "out (drop them from the run's items) or report them to the provider.",
                SuspectReflectanceWarning,
                stacklevel=2,
            )
    return table
