import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from cropkit.compute.composite import (
    clearest,
    period_bounds,
    period_mean_db,
    period_median,
    period_starts,
)
from cropkit.core.errors import ConfigError


def cube(values, times, bands=("B04",)):
    v = np.asarray(values, dtype=float)
    return xr.DataArray(
        v.reshape(len(times), len(bands), *v.shape[-2:])
        if v.ndim > 2
        else v.reshape(len(times), len(bands), 1, 1),
        dims=("time", "band", "y", "x"),
        coords={"time": pd.to_datetime(times), "band": list(bands)},
    )


def test_period_starts():
    assert len(period_starts("month", 2023)) == 12
    half = period_starts("half-month", 2023)
    assert len(half) == 24 and half[1] == pd.Timestamp("2023-01-16")
    dek = period_starts("10-day", 2024)
    assert len(dek) == 36 and dek[-1] == pd.Timestamp("2024-12-21")
    with pytest.raises(ConfigError, match="Unknown compositing period 'week'"):
        period_starts("week", 2023)


def test_period_bounds_of_sorted_times():
    times = pd.to_datetime(["2023-01-31", "2023-02-01", "2023-02-28", "2023-12-31"])
    b = period_bounds(times, period_starts("month", 2023))
    assert b[0].tolist() == [0, 1] and b[1].tolist() == [1, 3] and b[2].tolist() == [3, 3]
    assert b[11].tolist() == [3, 4]
    with pytest.raises(ConfigError, match="sorted"):
        period_bounds(times[::-1], period_starts("month", 2023))


def test_median_equals_numpy_reference():
    rng = np.random.default_rng(0)
    times = pd.date_range("2023-01-03", "2023-12-29", freq="5D")
    values = rng.random((len(times), 2, 3, 4))
    values[rng.random(values.shape) < 0.4] = np.nan
    c = xr.DataArray(
        values, dims=("time", "band", "y", "x"), coords={"time": times, "band": ["a", "b"]}
    )
    ds = period_median(c, "month")
    complete = np.isfinite(values).all(axis=1, keepdims=True)
    values_ref = np.where(complete, values, np.nan)
    for m in range(12):
        sel = values_ref[times.month == m + 1]
        with (
            np.errstate(all="ignore"),
            pytest.warns(RuntimeWarning) if np.isnan(sel).all(axis=0).any() else _null(),
        ):
            ref = np.nanmedian(sel, axis=0)
        np.testing.assert_allclose(ds["median"].values[m], ref, rtol=1e-6, equal_nan=True)
        np.testing.assert_array_equal(
            ds["count"].values[m], np.isfinite(sel).any(axis=1).sum(axis=0)
        )


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_empty_periods_are_kept_as_gaps():
    c = cube([1.0, 3.0, 10.0], ["2023-01-02", "2023-01-20", "2023-04-10"])
    ds = period_median(c, "month", season=2023)
    assert ds["median"].values[:, 0, 0, 0][:4].tolist()[0] == 2.0
    assert np.isnan(ds["median"].values[1:3]).all()
    assert ds["count"].values[:, 0, 0].tolist() == [2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert ds.attrs == {
        "period": "month",
        "year": 2023,
        "season_start": "2023-01-01",
        "season_end": "2023-12-31",
    }


def test_dask_and_numpy_agree():
    rng = np.random.default_rng(1)
    times = pd.date_range("2023-01-01", periods=40, freq="9D")
    values = rng.random((40, 3, 20, 30))
    values[rng.random(values.shape) < 0.5] = np.nan
    c = xr.DataArray(
        values, dims=("time", "band", "y", "x"), coords={"time": times, "band": list("abc")}
    )
    eager = period_median(c, "half-month")
    lazy = period_median(c.chunk({"time": 5, "band": 1, "y": 8, "x": 16}), "half-month")
    np.testing.assert_array_equal(eager["median"].values, lazy["median"].values)
    np.testing.assert_array_equal(eager["count"].values, lazy["count"].values)


def test_sar_mean_in_linear_power():
    c = cube([-10.0, -20.0, np.nan], ["2023-03-01", "2023-03-13", "2023-03-25"])
    ds = period_mean_db(c, "month", season=2023)
    expected = 10 * np.log10((0.1 + 0.01) / 2)
    assert ds["mean"].values[2, 0, 0, 0] == pytest.approx(expected, rel=1e-5)
    assert ds["count"].values[2, 0, 0] == 2


def test_clearest_acquisition_per_pixel():
    values = np.array([[1.0, np.nan], [2.0, 3.0], [4.0, 5.0]]).reshape(3, 1, 1, 2)
    c = xr.DataArray(
        values,
        dims=("time", "band", "y", "x"),
        coords={"time": pd.to_datetime(["2023-05-01", "2023-06-01", "2023-07-01"])},
    )
    best = clearest(c, [1.0, 30.0, 5.0])
    assert best.values[0, 0].tolist() == [1.0, 5.0]
    assert best["source_time"].values == np.datetime64("2023-05-01")


def test_wrong_dims_are_explained():
    with pytest.raises(ConfigError, match="dims \\(time, band, y, x\\)"):
        period_median(xr.DataArray(np.zeros((2, 2)), dims=("time", "x")))


def test_partial_observations_are_left_out():
    values = np.array([[1.0, 10.0], [3.0, np.nan], [5.0, 50.0]]).reshape(3, 2, 1, 1)
    c = xr.DataArray(
        values,
        dims=("time", "band", "y", "x"),
        coords={
            "time": pd.to_datetime(["2023-05-02", "2023-05-12", "2023-05-22"]),
            "band": ["a", "b"],
        },
    )
    ds = period_median(c, "month", season=2023)
    assert ds["median"].values[4, :, 0, 0].tolist() == [3.0, 30.0]
    assert ds["count"].values[4, 0, 0] == 2


def test_a_season_across_new_year_composites_like_numpy():
    from cropkit.compute.composite import OutsideSeasonWarning
    from cropkit.core.seasons import season_for

    winter = season_for(2023, "winter")
    rng = np.random.default_rng(1)
    times = pd.date_range("2022-09-20", "2023-10-10", freq="4D")
    values = rng.random((len(times), 2, 2, 3))
    values[rng.random(values.shape) < 0.3] = np.nan
    c = xr.DataArray(
        values, dims=("time", "band", "y", "x"), coords={"time": times, "band": ["a", "b"]}
    )
    with pytest.warns(OutsideSeasonWarning, match="6 of 97 observations fall outside"):
        ds = period_median(c, "month", winter)
    starts = winter.period_starts("month")
    assert list(pd.DatetimeIndex(ds["period"].values)) == list(starts)
    assert ds.attrs["season_start"] == "2022-10-01" and ds.attrs["year"] == 2023
    complete = np.isfinite(values).all(axis=1, keepdims=True)
    masked = np.where(complete, values, np.nan)
    for k, start in enumerate(starts):
        end = start + pd.offsets.MonthBegin(1)
        sel = (times >= start) & (times < end)
        with np.errstate(all="ignore"), __import__("warnings").catch_warnings():
            __import__("warnings").simplefilter("ignore", RuntimeWarning)
            expected = np.nanmedian(masked[sel], axis=0)
        np.testing.assert_allclose(ds["median"].values[k], expected, equal_nan=True)
        assert (ds["count"].values[k] == complete[sel].sum(axis=0)[0]).all()
    # December 2022 and January 2023 are both there, in order
    assert ds["count"].sel(period="2022-12-01").sum() > 0
    assert ds["count"].sel(period="2023-01-01").sum() > 0


@pytest.mark.server
@pytest.mark.parametrize("scheduler, time_chunks", [("threads", -1), ("synchronous", 1)])
def test_demo_composites_equal_a_plain_numpy_median(stac_server, scheduler, time_chunks):
    """The demo's masked Sentinel-2, read over HTTP from the local STAC API: cropkit's
    monthly medians equal numpy's on the same pixels, whatever the chunks and scheduler."""
    import dask

    from cropkit.access.load import load_s2, load_scl
    from cropkit.access.providers import PROVIDERS
    from cropkit.access.stac import StacSource, open_api
    from cropkit.compute.cloudmask import apply_mask, clear_mask
    from cropkit.core.errors import GridMismatchError
    from cropkit.core.regions import get_region

    grid = get_region("chartres").grid(64, (2, 1))
    source = StacSource(stac_server.url, PROVIDERS["demo"], open_api(stac_server.url))
    items = source.search("s2", grid.lonlat_bounds(), 2023, max_cloud=100)[::4]  # every month
    refl = load_s2(items, source.provider, grid, chunks=64, time_chunks=time_chunks)
    clear = clear_mask(load_scl(items, source.provider, grid, chunks=64, time_chunks=time_chunks))
    masked = apply_mask(refl, clear)  # as MaskedS2.masked
    with dask.config.set(scheduler=scheduler):
        # notebook 03 masks as it gathers each period (clear=): the same as the masked cube
        ds, gathered, masked = dask.compute(
            period_median(masked, "month", 2023),
            period_median(refl, "month", 2023, clear=clear),
            masked,
        )
    xr.testing.assert_identical(gathered, ds)
    with pytest.raises(GridMismatchError, match="dates"):
        period_median(refl, "month", 2023, clear=clear.isel(time=slice(1, None)))
    values = masked.values
    times = pd.DatetimeIndex(masked["time"].values)
    complete = np.isfinite(values).all(axis=1, keepdims=True)
    values = np.where(complete, values, np.nan)
    assert 0.2 < complete.mean() < 0.8  # clouds and gaps: not an empty or a clear season
    for m in range(12):
        sel = values[times.month == m + 1]
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels: a gap
            ref = np.nanmedian(sel, axis=0)
        np.testing.assert_array_equal(ds["median"].values[m], ref.astype(np.float32))
        np.testing.assert_array_equal(
            ds["count"].values[m], complete[times.month == m + 1].sum(0)[0]
        )


@pytest.mark.parametrize("chunks", [None, {"time": 2, "band": 1, "y": 3}])
def test_clear_leaves_observations_out_as_a_masked_cube_would(chunks):
    rng = np.random.default_rng(3)
    t = pd.date_range("2023-01-03", periods=9, freq="9D")  # January to March
    cube = xr.DataArray(
        rng.random((9, 2, 5, 5), dtype=np.float32),
        dims=("time", "band", "y", "x"),
        coords={"time": t, "band": ["B04", "B08"]},
    )
    clear = xr.DataArray(rng.random((9, 5, 5)) < 0.6, dims=("time", "y", "x"), coords={"time": t})
    if chunks:
        cube, clear = cube.chunk(chunks), clear.chunk({"time": 3})
    gathered = period_median(cube, "month", 2023, clear=clear).compute()
    masked = period_median(cube.where(clear), "month", 2023).compute()
    xr.testing.assert_identical(gathered, masked)
    assert 0 < int(gathered["count"][:3].sum()) < 9 * 25
    with pytest.raises(ConfigError, match=r"dims \(time, y, x\)"):
        period_median(cube, "month", 2023, clear=clear.isel(time=0))
