"""Robustness under heavy cloud: hide Sentinel-2 periods and see what radar saves.

Persistent cloud over a season leaves the optical composites of those months to gap
filling, which can only interpolate. Sentinel-1 sees through cloud. Here the Sentinel-2
periods of a *scenario* are replaced by the interpolation from the periods around
them (and flagged invalid), as gap filling would have done after a cloudy spell, and
models are trained and scored with and without radar inputs.

Examples
--------
>>> scenarios = {"cloudy spring": [3, 4, 5]}                           # doctest: +SKIP
>>> cloud_robustness("xgboost", pixels, scenarios)                      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from ..compute.gapfill import fill_gaps_array
from ..core.errors import DataError
from ..models import model_inputs
from .fit import fit_and_score

__all__ = ["occlude_periods", "cloud_robustness", "CLOUD_SCENARIOS"]

#: Default scenarios (0-based monthly period indices hidden by cloud).
CLOUD_SCENARIOS = {
    "cloudy spring (Apr-Jun)": [3, 4, 5],
    "cloudy summer (Jun-Aug)": [5, 6, 7],
    "half the months": [1, 3, 5, 7, 9, 11],
}


def occlude_periods(ds: xr.Dataset, periods: Sequence[int]) -> xr.Dataset:
    """Sentinel-2 of ``ds`` as if clouds had hidden ``periods``.

    Parameters
    ----------
    ds : xarray.Dataset
        Pixel dataset with ``s2`` ``(sample, time, band)`` and ``valid``
        ``(sample, time)``, or patch dataset with ``s2`` ``(patch, time, band, h, w)``
        and ``valid`` ``(patch, time, h, w)``.
    periods : sequence of int
        Time indices to hide.

    Returns
    -------
    xarray.Dataset
        A copy whose ``s2`` values at ``periods`` are re-filled from the other periods
        (linear interpolation, nearest value at the ends) and whose ``valid`` is False
        there. Other variables (Sentinel-1, EnMAP, labels) are unchanged.

    Raises
    ------
    DataError
        If a period index is out of range or every period would be hidden.
    """
    n_time = ds.sizes["time"]
    periods = sorted({int(p) for p in periods})
    if any(p < 0 or p >= n_time for p in periods):
        raise DataError(f"Period indices must be between 0 and {n_time - 1}, not {periods}.")
    if len(periods) == n_time:
        raise DataError("Hiding every period leaves nothing to fill from; keep at least one.")
    dim = "patch" if "patch" in ds.dims else "sample"
    order = ("time", "band", dim, *[d for d in ("h", "w") if d in ds["s2"].dims])
    s2 = ds["s2"].transpose(*order)
    values = s2.values.reshape(n_time, s2.sizes["band"], -1, 1)  # (T, C, N, 1)
    seen = np.ones((n_time, values.shape[2], 1), dtype=bool)
    seen[periods] = False
    filled, _ = fill_gaps_array(values, seen)
    out = ds.copy()
    out["s2"] = s2.copy(data=filled[..., 0].reshape(s2.shape)).transpose(*ds["s2"].dims)
    valid = ds["valid"].values.copy()
    np.moveaxis(valid, ds["valid"].dims.index("time"), 0)[periods] = False  # a view
    out["valid"] = ds["valid"].copy(data=valid)
    return out


def cloud_robustness(
    model_name: str,
    ds: xr.Dataset,
    scenarios: dict[str, Sequence[int]] | None = None,
    input_sets: dict[str, tuple[str, ...]] | None = None,
    **hyperparameters,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Tier-4 macro F1 when a cloudy season hides Sentinel-2, with and without radar.

    Each scenario hides its periods everywhere (a cloudy year is cloudy in the training
    and the test zones alike), then the model is trained and scored once per input set.

    Parameters
    ----------
    model_name : str
        A registered model, pixel or patch.
    ds : xarray.Dataset
        Pixel or patch dataset (as the model's kind) with a ``split`` (and ``s1`` for
        the radar input set).
    scenarios : dict, optional
        Label -> hidden period indices; :data:`CLOUD_SCENARIOS` by default. A ``clear``
        row (nothing hidden) always comes first.
    input_sets : dict, optional
        Label -> inputs; by default ``S2`` and (when the dataset has radar) ``S2 + S1``.
    **hyperparameters
        Override the model's config.

    Returns
    -------
    macro_f1 : pandas.DataFrame
        Rows: ``clear`` and each scenario; columns: input sets.
    per_class : dict
        Input set -> tier-4 F1 per class (rows) and scenario (columns).
    """
    scenarios = {"clear": [], **(scenarios if scenarios is not None else CLOUD_SCENARIOS)}
    if input_sets is None:
        radar = "s1" in ds and "s1" in model_inputs(model_name)
        input_sets = {"S2": ("s2",), **({"S2 + S1": ("s2", "s1")} if radar else {})}
    table: dict[str, dict] = {label: {} for label in input_sets}
    per_class: dict[str, dict] = {label: {} for label in input_sets}
    for scenario, periods in scenarios.items():
        seen = occlude_periods(ds, periods) if periods else ds
        for label, inputs in input_sets.items():
            report = fit_and_score(model_name, seen, inputs, **hyperparameters).reports["tier4"]
            table[label][scenario] = report.macro_f1
            per_class[label][scenario] = report.per_class.loc[report.per_class["support"] > 0, "f1"]
    return pd.DataFrame(table), {k: pd.DataFrame(v) for k, v in per_class.items()}
