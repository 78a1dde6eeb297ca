"""Pooling the datasets of several runs, and testing on whole regions."""

import numpy as np
import pandas as pd
import pytest

from cropkit.compute.splits import TEST, TRAIN, VAL
from cropkit.core.errors import DataError
from cropkit.experiments.pooling import HeldOutClassWarning, pool_datasets, region_holdout


def test_runs_pool_with_their_region_and_their_own_split(toy_pixels):
    a, b = toy_pixels, toy_pixels.isel(sample=slice(0, 100))
    pooled = pool_datasets({"chartres": a, "vitre": b})
    n = a.sizes["sample"] + 100
    assert pooled.sizes["sample"] == n and pooled["s2"].shape[1:] == a["s2"].shape[1:]
    regions = pooled["region"].values
    assert (regions[: a.sizes["sample"]] == "chartres").all() and (regions[-100:] == "vitre").all()
    assert np.array_equal(pooled["split"].values[-100:], b["split"].values)
    assert pooled.attrs["regions"] == ["chartres", "vitre"]
    assert pooled.attrs["classes_tier4"] == a.attrs["classes_tier4"]


def test_crop_change_is_pooled_and_unknown_where_a_run_lacks_it(toy_pixels):
    a = toy_pixels.assign(changed=("sample", np.ones(toy_pixels.sizes["sample"], np.int8)))
    b = toy_pixels.isel(sample=slice(0, 100))  # a run whose previous crops are unknown
    pooled = pool_datasets({"y2024": b, "y2023": a})
    assert pooled["changed"].dtype == np.int8
    assert (pooled["changed"].values[:100] == -1).all() and (
        pooled["changed"].values[100:] == 1
    ).all()


def test_runs_that_differ_are_named_with_every_difference(toy_pixels):
    other = toy_pixels.copy()
    other.attrs = {**toy_pixels.attrs, "classes_tier4": toy_pixels.attrs["classes_tier4"][::-1]}
    with pytest.raises(
        DataError, match=r"tier4 classes: only a has \[\], only b has \[\] \(the same"
    ):
        pool_datasets({"a": toy_pixels, "b": other})
    shorter = toy_pixels.isel(time=slice(0, 6))
    with pytest.raises(DataError, match=r"period grid: a has 12 periods .* b 6 from"):
        pool_datasets({"a": toy_pixels, "b": shorter})
    years_on = pd.DatetimeIndex(toy_pixels["time"].values) + pd.DateOffset(years=1)
    next_year = toy_pixels.assign_coords(time=years_on.values)
    pooled = pool_datasets({"2023": toy_pixels, "2024": next_year})  # the same months pool
    assert (pooled["time"].values == toy_pixels["time"].values).all()  # the first run's dates
    shifted = toy_pixels.assign_coords(time=toy_pixels["time"].values + np.timedelta64(14, "D"))
    with pytest.raises(DataError, match=r"period grid: a has 12 periods from \['01-01'\]"):
        pool_datasets({"a": toy_pixels, "b": shifted})
    with pytest.raises(DataError, match=r"streams: a has \['s2', 's1'\], b has \['s2'\]"):
        pool_datasets({"a": toy_pixels, "b": toy_pixels.drop_vars("s1")})
    with pytest.raises(DataError, match="at least one"):
        pool_datasets({})


def test_region_holdout_tests_whole_regions_and_warns_of_classes_it_cannot_learn(toy_pixels):
    a = toy_pixels
    grown = np.unique(a["tier4"].values)
    only_b = a.isel(sample=np.flatnonzero(a["tier4"].values == grown[-1]))
    a_rest = a.isel(sample=np.flatnonzero(a["tier4"].values != grown[-1]))
    pooled = pool_datasets({"a": a_rest, "b": only_b})
    with pytest.warns(HeldOutClassWarning, match="grows only in the test regions \\['b'\\]"):
        split = region_holdout(pooled, ["b"])["split"].values
    tested = pooled["region"].values == "b"
    assert (split[tested] == TEST).all()
    own = pooled["split"].values[~tested]
    assert np.array_equal(split[~tested], np.where(own == VAL, VAL, TRAIN))
    with pytest.raises(DataError, match=r"No region \['c'\]"):
        region_holdout(pooled, ["c"])
    with pytest.raises(DataError, match="some but not all"):
        region_holdout(pooled, ["a", "b"])


def test_pooled_data_larger_than_memory_goes_to_a_store_that_holds_the_same(toy_pixels, tmp_path):
    from cropkit.datasets import open_dataset, save_dataset
    from cropkit.experiments.pooling import pool_to_store

    a = toy_pixels.assign(changed=("sample", np.ones(toy_pixels.sizes["sample"], np.int8)))
    save_dataset(a, tmp_path / "a", "pixels")
    save_dataset(toy_pixels.isel(sample=slice(0, 100)), tmp_path / "b", "pixels")
    runs = {"y2023": open_dataset(tmp_path / "a"), "y2024": open_dataset(tmp_path / "b")}
    memory = pool_datasets(runs).load()
    stored = pool_to_store(runs, tmp_path / "pooled", "pixels")
    assert stored["s2"].chunks is not None  # lazily opened: streamed by training
    assert stored.attrs["regions"] == ["y2023", "y2024"]
    assert np.array_equal(stored["region"].values, memory["region"].values)
    for name in ("s2", "s1", "tier4", "split", "parcel", "changed"):
        assert np.array_equal(stored[name].values, memory[name].values, equal_nan=name == "s2")
    assert (stored["changed"].values[-100:] == -1).all()
    with pytest.raises(DataError, match="cannot be pooled"):
        pool_to_store({"a": runs["y2023"], "b": runs["y2023"].drop_vars("s1")}, tmp_path, "x")
