import warnings

import numpy as np
import pandas as pd
import pytest

from cropkit.compute.splits import TEST, TRAIN, UNUSED, SplitWarning
from cropkit.core.errors import DataError, TaxonomyError
from cropkit.core.taxonomy import Taxonomy, flat_taxonomy, load_taxonomy
from cropkit.datasets import from_arrays, select_split
from cropkit.datasets.arrays import BandNamesWarning, days_of_year
from cropkit.experiments.fit import fit_and_score
from cropkit.models import NETWORKS, network_class

BANDS4 = ["B02", "B03", "B04", "B08"]


def quiet_from_arrays(*args, **kwargs):
    """from_arrays without its announcements (the default split, unnamed bands)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (SplitWarning, BandNamesWarning))
        return from_arrays(*args, **kwargs)


def test_from_arrays_builds_a_dataset_every_pixel_model_trains_on():
    rng = np.random.default_rng(1)
    n, days = 600, np.arange(15, 365, 30)
    crops = np.array(["BTH", "MIS", "CZH"])[rng.integers(0, 3, n)]
    peak = {"BTH": 130, "MIS": 220, "CZH": 100}
    season = np.exp(-0.5 * ((days[None] - np.vectorize(peak.get)(crops)[:, None]) / 40) ** 2)
    s2 = season[:, :, None] * np.linspace(0.1, 0.5, 4) + rng.normal(0, 0.02, (n, 12, 4))
    with pytest.warns(SplitWarning, match=r"70% to training, 10% to validation and 20% to test"):
        ds = from_arrays(s2, days, crops, parcel=np.arange(n) // 6, seed=0, band_names=BANDS4)
    taxonomy = load_taxonomy()  # cropkit's: every label is one of its codes
    assert ds.attrs["classes_tier4"] == taxonomy.classes(4) and ds.attrs["taxonomy"] == "rpg"
    names = np.array(taxonomy.classes(4))[ds["tier4"].values]
    assert (names == np.vectorize(lambda c: taxonomy.tier_of(c, 4))(crops)).all()
    assert set(np.array(taxonomy.classes(1))[ds["tier1"].values]) == {"arable_crops"}
    split = ds["split"].values
    for parcel in np.unique(ds["parcel"].values):  # whole parcels on one side
        assert np.unique(split[ds["parcel"].values == parcel]).size == 1
    fast = {"epochs": 4, "samples_per_epoch": 2048, "batch_size": 128, "learning_rate": 3e-3}
    for name in sorted(n for n in NETWORKS if network_class(n).kind == "pixel"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fit_and_score(name, ds, **fast)
        assert result.reports["tier4"].macro_f1 > 0.9, name


def test_the_same_class_has_the_same_index_in_every_dataset_of_a_taxonomy():
    x = np.zeros((3, 2, 2))
    all_three = quiet_from_arrays(x, [1, 2], ["BTH", "MIS", "CZH"])
    no_wheat = quiet_from_arrays(x, [1, 2], ["MIS", "CZH", "MIS"])
    maize = load_taxonomy().index(["grain_maize"])[0]
    assert all_three["tier4"].values[1] == no_wheat["tier4"].values[0] == maize
    assert all_three.attrs["classes_tier4"] == no_wheat.attrs["classes_tier4"]
    assert Taxonomy.from_attrs(no_wheat.attrs) == load_taxonomy()


def test_flat_labels_integer_ids_and_plain_names():
    x = np.zeros((4, 2, 2))
    ids = quiet_from_arrays(x, [1, 2], np.array([12, 3, 7, 3]))  # no taxonomy knows them
    assert ids.attrs["taxonomy"] == "flat" and ids.attrs["classes_tier4"] == ["3", "7", "12"]
    assert ids["tier4"].values.tolist() == [2, 0, 1, 0]
    assert all(ids[t].values.tolist() == [2, 0, 1, 0] for t in ("tier3", "tier2", "tier1"))
    floats = quiet_from_arrays(x, [1, 2], np.array([12.0, 3.0, 7.0, 3.0]))
    assert floats.attrs["classes_tier4"] == ["3", "7", "12"]
    names = quiet_from_arrays(x, [1, 2], ["rice", "teff", "rice", "BTH"], taxonomy="flat")
    assert names.attrs["classes_tier1"] == ["BTH", "rice", "teff"]  # BTH taken as a name
    with pytest.raises(DataError, match=r"whole class ids"):
        quiet_from_arrays(x, [1, 2], np.array([1.5, 2.0, 2.0, 1.0]))
    with pytest.raises(DataError, match=r"labels are missing at samples \[1\]"):
        quiet_from_arrays(x, [1, 2], np.array([1.0, np.nan, 2.0, 1.0]))


def test_a_taxonomy_given_as_a_dataframe_or_by_another_dataset():
    table = pd.DataFrame(
        {
            "code": [11, 12, 20],
            "tier4": ["maize", "sorghum", "grass"],
            "tier3": ["maize", "sorghum", "grass"],
            "tier2": ["cereal", "cereal", "grass"],
            "tier1": ["crop", "crop", "grass"],
        }
    )
    x = np.zeros((3, 2, 2))
    train = quiet_from_arrays(x, [1, 2], [11, 12, 20], taxonomy=table)
    assert train.attrs["classes_tier2"] == ["cereal", "grass"]
    assert train["tier2"].values.tolist() == [0, 0, 1]
    test = quiet_from_arrays(x[:1], [1, 2], ["sorghum"], taxonomy=train)  # train's taxonomy
    assert test["tier4"].values.tolist() == [2] and test.attrs == {**train.attrs}
    with pytest.raises(DataError, match=r"\['rice'\] are neither tier-4 classes nor crop codes"):
        quiet_from_arrays(x[:1], [1, 2], ["rice"], taxonomy=train)


def test_dates_count_on_past_new_year_and_radar_shares_their_origin():
    dates = np.array(["2022-11-15", "2022-12-15", "2023-01-15", "2023-02-15"], "datetime64[D]")
    ds = quiet_from_arrays(
        np.zeros((2, 4, 2)), dates, ["BTH", "MIS"],
        s1=np.zeros((2, 2, 2)), s1_doy=np.array(["2022-12-01", "2023-01-01"], "datetime64[D]"),
    )  # fmt: skip
    assert ds["doy"].values.tolist() == [319, 349, 380, 411]
    assert ds["s1_doy"].values.tolist() == [335, 366] and ds.attrs["doy_origin"] == "2021-12-31"
    days, origin = days_of_year(np.array([["2023-03-01", "NaT"]], "datetime64[D]"))
    assert days[0, 0] == 60 and np.isnan(days[0, 1]) and str(origin.date()) == "2022-12-31"
    padded = quiet_from_arrays(  # NaT pads a per-sample date
        np.zeros((2, 2, 2)), np.array([["2023-03-01", "NaT"]] * 2, "datetime64[D]"), ["BTH"] * 2
    )
    assert padded["s2_pad"].values[:, 1].all() and padded["doy"].values[0, 0] == 60


def test_dates_that_do_not_increase_are_refused_where_they_fail():
    x = np.zeros((2, 4, 2))
    with pytest.raises(DataError, match=r"at position 3 day 25 follows day 360 \(position 2\)"):
        quiet_from_arrays(x, [300, 330, 360, 25], ["BTH", "MIS"])  # a wrapped day of year
    per_sample = np.array([[10, 40, 70, 100], [10, 40, 40, -1]])
    with pytest.raises(DataError, match=r"at sample 1, position 2 day 40 follows day 40"):
        quiet_from_arrays(x, per_sample, ["BTH", "MIS"])
    per_sample[1, 2] = -1  # padding in the middle is skipped, the rest increases
    assert quiet_from_arrays(x, per_sample, ["BTH", "MIS"])["s2_pad"].values[1].tolist() == [
        False, False, True, True,
    ]  # fmt: skip
    with pytest.raises(DataError, match=r"s1_doy must increase"):
        quiet_from_arrays(x, [1, 2, 3, 4], ["BTH", "MIS"], s1=x[:, :2], s1_doy=[50, 5])


def test_unnamed_bands_are_announced_and_xgboost_says_which_it_needs():
    rng = np.random.default_rng(0)
    x, labels = rng.random((40, 3, 4)), np.array(["BTH", "MIS"] * 20)
    with pytest.warns(BandNamesWarning, match=r"needs \['B04', 'B08'\].*band_names="):
        ds = from_arrays(x, [1, 2, 3], labels, split=["train"] * 30 + ["test"] * 10)
    assert ds["band"].values.tolist() == ["b0", "b1", "b2", "b3"]
    with pytest.raises(DataError, match=r"need the Sentinel-2 bands \['B04', 'B08'\].*'b0'"):
        fit_and_score("xgboost", ds, n_estimators=5)
    with pytest.raises(DataError, match=r"band_names must name the 4 bands of s2 once each"):
        from_arrays(x, [1, 2, 3], labels, band_names=["B04", "B08"])


def test_observed_mask_fold_and_unused_samples():
    x = np.ones((4, 3, 2))
    x[0, 1] = np.nan
    observed = np.array([[True, False, True]] * 4)
    default = quiet_from_arrays(x, [1, 2, 3], ["BTH"] * 4)
    assert default["valid"].values[0].tolist() == [True, False, True]
    assert default["valid"].values[1:].all() and default.attrs["observed_from"] == "finite values"
    given = quiet_from_arrays(x, [1, 2, 3], ["BTH"] * 4, observed=observed)
    assert (given["valid"].values == observed).all() and given.attrs["observed_from"] == "given"
    older = quiet_from_arrays(x, [1, 2, 3], ["BTH"] * 4, valid=observed)  # the older name
    assert (older["valid"].values == observed).all()
    with pytest.raises(DataError, match="Give observed= only"):
        quiet_from_arrays(x, [1, 2, 3], ["BTH"] * 4, observed=observed, valid=observed)
    ds = quiet_from_arrays(
        x, [1, 2, 3], ["BTH"] * 4, split=["train", "unused", "test", "train"], fold=[0, 1, 1, 0]
    )
    assert ds["split"].values.tolist() == [TRAIN, UNUSED, TEST, TRAIN]
    assert ds["fold"].values.tolist() == [0, 1, 1, 0]
    assert select_split(ds, TRAIN)["row"].values.tolist() == [0, 3]  # unused: on no side
    codes = quiet_from_arrays(x, [1, 2, 3], ["BTH"] * 4, split=[0, -1, 2, 1])
    assert codes["split"].values.tolist() == [0, -1, 2, 1]
    with pytest.raises(DataError, match=r"split codes must be 0 \(train\).* not \[5\]"):
        quiet_from_arrays(x, [1, 2, 3], ["BTH"] * 4, split=[0, 5, 2, 1])
    with pytest.raises(DataError, match=r"fold must be \(4,\) whole fold numbers"):
        quiet_from_arrays(x, [1, 2, 3], ["BTH"] * 4, fold=[0.5, 1, 1, 0])


def test_errors_name_classes_as_plain_strings():
    x = np.zeros((2, 2, 2))
    with pytest.raises(DataError) as caught:
        quiet_from_arrays(x, [1, 2], np.array(["BTH", "XYZ"]), taxonomy="rpg")
    assert "['XYZ']" in str(caught.value) and "np.str_" not in str(caught.value)
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy().roll_up(np.array(["banana"]), 2)
    assert "['banana']" in str(caught.value) and "np.str_" not in str(caught.value)


def test_from_arrays_errors_name_the_fix():
    x = np.zeros((4, 3, 2))
    with pytest.raises(DataError, match=r"doy must be \(3,\) or \(4, 3\)"):
        quiet_from_arrays(x, [1, 2], ["BTH"] * 4)
    # some labels cropkit's codes, some not: a typo, not a flat taxonomy
    with pytest.raises(TaxonomyError, match=r"\['XYZ'\] are not in cropkit's taxonomy while"):
        quiet_from_arrays(x, [1, 2, 3], ["XYZ", "BTH", "BTH", "MIS"])
    with pytest.raises(DataError, match="neither tier-4 classes nor crop codes of the rpg"):
        quiet_from_arrays(x, [1, 2, 3], ["XYZ"] * 4, taxonomy="rpg")
    with pytest.raises(DataError, match="must be \\(sample, time, band\\)"):
        quiet_from_arrays(x[0], [1, 2, 3], ["BTH"] * 4)
    with pytest.raises(DataError, match="not 'train', 'val', 'test' or 'unused'"):
        quiet_from_arrays(x, [1, 2, 3], ["BTH"] * 4, split=["train", "dev", "test", "test"])
    with pytest.raises(DataError, match="doy must be day numbers or dates"):
        quiet_from_arrays(x, np.array([True, False, True]), ["BTH"] * 4)
    ds = quiet_from_arrays(x, [1, 2, 3], ["winter_soft_wheat"] * 4, split=["train"] * 3 + ["test"])
    assert ds["split"].values.tolist() == [0, 0, 0, 2]


def test_flat_taxonomy_is_built_once_for_separate_datasets():
    every = flat_taxonomy(["c", "a", "b", "a"])
    assert every.classes(4) == ["a", "b", "c"] and every.name == "flat"
    x = np.zeros((1, 2, 2))
    only_c = quiet_from_arrays(x, [1, 2], ["c"], taxonomy=every)
    assert only_c["tier4"].values.tolist() == [2]
