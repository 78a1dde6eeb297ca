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

from ..core.errors import ConfigError

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
    filled = values.copy()
    return filled, _fill(filled, valid)


def _fill(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Fill the gaps of ``(period, band, y, x)`` ``values`` in place; return the flags.

    Only the pixels of each period that are gaps are computed: a season's composite is
    mostly observed, and whole-array temporaries would cost more than the filling.
    """
    n = values.shape[0]
    idx = np.arange(n, dtype=np.int16 if n < 2**14 else np.int64).reshape(n, 1, 1)
    prev = np.maximum.accumulate(np.where(valid, idx, -1), axis=0)
    nxt = np.minimum.accumulate(np.where(valid, idx, n)[::-1], axis=0)[::-1]
    flags = np.full(valid.shape, FLAGS["observed"], dtype=np.uint8)
    for period in range(n):
        ys, xs = np.nonzero(~valid[period])
        if not len(ys):
            continue
        before, after = prev[period, ys, xs], nxt[period, ys, xs]
        has_prev, has_next = before >= 0, after < n
        v_prev = values[np.clip(before, 0, n - 1), :, ys, xs]  # (pixel, band)
        v_next = values[np.clip(after, 0, n - 1), :, ys, xs]
        span = np.maximum(after - before, 1)
        weight = ((period - before) / span)[:, None].astype(np.float32)
        interpolated = v_prev + (v_next - v_prev) * weight
        both = (has_prev & has_next)[:, None]
        out = np.where(both, interpolated, np.where(has_prev[:, None], v_prev, v_next))
        none = ~(has_prev | has_next)
        out[none] = np.nan
        values[period, :, ys, xs] = out
        code = np.where(has_prev & has_next, FLAGS["interpolated"], FLAGS["edge_filled"])
        flags[period, ys, xs] = np.where(none, FLAGS["missing"], code)
    return flags


def _block(values: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``(period, band, y, x)`` values and ``(period, [1,] y, x)`` counts -> filled + flags."""
    count = count[:, 0] if count.ndim == 4 else count
    out = np.empty((values.shape[0], values.shape[1] + 1, *values.shape[2:]), dtype=np.float32)
    out[:, :-1] = values
    out[:, -1] = _fill(out[:, :-1], count > 0)
    return out


def fill_gaps(composite: xr.Dataset, variable: str = "median") -> xr.Dataset:
    """Gap-fill a composite made by :func:`cropkit.compute.composite.period_median`.

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
