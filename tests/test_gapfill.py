import numpy as np
import pytest
import xarray as xr

from cropkit.compute.gapfill import FLAGS, fill_gaps, fill_gaps_array
from cropkit.core.errors import ConfigError

nan = np.nan


def run(series):
    values = np.array(series, dtype=float)[:, None, None, None]
    filled, flags = fill_gaps_array(values)
    return filled[:, 0, 0, 0].tolist(), flags[:, 0, 0].tolist()


def test_single_gap_takes_the_mean_of_its_neighbours():
    assert run([1, nan, 3]) == ([1, 2, 3], [0, 1, 0])


def test_long_gap_is_interpolated_linearly():
    assert run([0, nan, nan, nan, 8]) == ([0, 2, 4, 6, 8], [0, 1, 1, 1, 0])


def test_first_and_last_periods_take_the_nearest_valid_value():
    assert run([nan, nan, 5, 7, nan]) == ([5, 5, 5, 7, 7], [2, 2, 0, 0, 2])


def test_all_missing_stays_missing():
    values, flags = run([nan, nan, nan])
    assert np.isnan(values).all() and flags == [3, 3, 3]


def test_no_gap_is_untouched():
    assert run([3, 1, 2]) == ([3, 1, 2], [0, 0, 0])


def test_bands_share_the_validity_of_the_period():
    values = np.array([[1.0, 10.0], [nan, nan], [3.0, 30.0]]).reshape(3, 2, 1, 1)
    filled, flags = fill_gaps_array(values)
    assert filled[1, :, 0, 0].tolist() == [2.0, 20.0]
    assert flags[:, 0, 0].tolist() == [0, 1, 0]


def test_fill_composite_dataset_eager_and_lazy():
    rng = np.random.default_rng(0)
    values = rng.random((12, 2, 6, 7)).astype("float32")
    count = rng.integers(0, 3, (12, 6, 7))
    values[np.broadcast_to((count == 0)[:, None], values.shape)] = np.nan
    ds = xr.Dataset(
        {"median": (("period", "band", "y", "x"), values), "count": (("period", "y", "x"), count)}
    )
    eager = fill_gaps(ds)
    lazy = fill_gaps(ds.chunk({"y": 3, "x": 4})).compute()
    np.testing.assert_array_equal(eager["median"].values, lazy["median"].values)
    np.testing.assert_array_equal(eager["flags"].values, lazy["flags"].values)
    assert set(np.unique(eager["flags"].values)) <= set(FLAGS.values())
    assert (eager["flags"].values == 0).sum() == (count > 0).sum()


def test_missing_variables_are_explained():
    with pytest.raises(ConfigError, match="needs variables 'median' and 'count'"):
        fill_gaps(xr.Dataset({"median": (("period",), [1.0])}))
