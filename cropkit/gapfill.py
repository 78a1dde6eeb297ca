"""Temporal gap filling of composites, with provenance flags.

Rules, for each pixel and band along the period axis:

* a missing period between two valid ones takes the linear interpolation between the
  previous and the next valid periods (for a single missing period this is their mean);
* missing periods before the first valid one take the first valid value;
* missing periods after the last valid one take the last valid value;
* a pixel with no valid period at all stays missing.

The result carries a flag per ``(period, y, x)``: :data:`FLAGS`.

Examples
--------
>>> import numpy as np
>>> values = np.array([np.nan, 2.0, np.nan, np.nan, 8.0, np.nan])[:, None, None, None]
>>> filled, flags = fill_gaps_array(values)
>>> filled[:, 0, 0, 0].tolist(), flags[:, 0, 0].tolist()
([2.0, 2.0, 4.0, 6.0, 8.0, 8.0], [2, 0, 1, 1, 0, 2])
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import xarray as xr

from .errors import ConfigError

__all__ = ["FLAGS", "fill_gaps", "fill_gaps_array"]

#: Provenance of each composite value.
FLAGS = {"observed": 0, "interpolated": 1, "edge_filled": 2, "missing": 3}


def fill_gaps_array(
    values: np.ndarray, valid: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Fill gaps along the first axis of a ``(period, band, y, x)`` array.

    Parameters
    ----------
    values : numpy.ndarray
        Dims ``(period, band, y, x)``.
    valid : numpy.ndarray, optional
        Dims ``(period, y, x)``: which periods were observed (default: all bands
        finite). Where it is ``False`` every band is refilled.

    Returns
    -------
    filled : numpy.ndarray
        Same dims as ``values``, float32.
    flags : numpy.ndarray
        Dims ``(period, y, x)``, uint8 codes of :data:`FLAGS`.
    """
    values = np.asarray(values, dtype=np.float32)
    if valid is None:
        valid = np.isfinite(values).all(axis=1)
    n = values.shape[0]
    idx = np.arange(n).reshape(n, 1, 1)
    prev = np.maximum.accumulate(np.where(valid, idx, -1), axis=0)
    nxt = np.minimum.accumulate(np.where(valid, idx, n)[::-1], axis=0)[::-1]
    has_prev, has_next = prev >= 0, nxt < n
    prev_c, next_c = np.clip(prev, 0, n - 1), np.clip(nxt, 0, n - 1)
    v_prev = np.take_along_axis(values, prev_c[:, None], axis=0)
    v_next = np.take_along_axis(values, next_c[:, None], axis=0)
    span = np.maximum(nxt - prev, 1)
    weight = ((idx - prev) / span)[:, None].astype(np.float32)
    interpolated = v_prev + (v_next - v_prev) * weight
    both = (has_prev & has_next)[:, None]
    filled = np.where(both, interpolated, np.where(has_prev[:, None], v_prev, v_next))
    filled = np.where(valid[:, None], values, filled)
    none = ~(has_prev | has_next)
    filled = np.where(none[:, None], np.nan, filled).astype(np.float32)
    flags = np.full(valid.shape, FLAGS["observed"], dtype=np.uint8)
    flags[~valid & has_prev & has_next] = FLAGS["interpolated"]
    flags[~valid & (has_prev ^ has_next)] = FLAGS["edge_filled"]
    flags[none] = FLAGS["missing"]
    return filled, flags


def _block(values: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``(period, band, y, x)`` values and ``(period, [1,] y, x)`` counts -> filled + flags."""
    count = count[:, 0] if count.ndim == 4 else count
    filled, flags = fill_gaps_array(values, count > 0)
    return np.concatenate([filled, flags[:, None].astype(np.float32)], axis=1)


def fill_gaps(composite: xr.Dataset, variable: str = "median") -> xr.Dataset:
    """Gap-fill a composite made by :func:`cropkit.composite.period_median`.

    Parameters
    ----------
    composite : xarray.Dataset
        With ``variable`` (dims ``(period, band, y, x)``) and ``count`` (dims
        ``(period, y, x)``); a period with ``count == 0`` is a gap.
    variable : str
        Name of the values to fill.

    Returns
    -------
    xarray.Dataset
        ``composite`` with ``variable`` filled and a new ``flags`` variable, dims
        ``(period, y, x)``, codes of :data:`FLAGS`.
    """
    if variable not in composite or "count" not in composite:
        raise ConfigError(
            f"The composite needs variables {variable!r} and 'count'; it has {list(composite)}."
        )
    values, count = composite[variable].data, composite["count"].data
    if isinstance(values, da.Array):
        values = values.rechunk({0: -1, 1: -1})
        count = da.asarray(count).rechunk((-1, values.chunks[2], values.chunks[3]))
        out = da.map_blocks(  # count gets a dummy band axis so both arguments have four dims
            _block,
            values,
            count[:, None],
            dtype=np.float32,
            chunks=(values.chunks[0], (values.shape[1] + 1,), values.chunks[2], values.chunks[3]),
        )
    else:
        out = _block(np.asarray(values), np.asarray(count))
    filled = composite[variable].copy(data=out[:, :-1])
    flags = composite["count"].copy(data=out[:, -1]).astype("uint8").rename("flags")
    flags.attrs = {"flag_values": list(FLAGS.values()), "flag_meanings": " ".join(FLAGS)}
    return composite.assign({variable: filled, "flags": flags})
