import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from cropkit.compute.folds import block_kfold, fold_split
from cropkit.compute.splits import (
    TEST,
    TRAIN,
    UNUSED,
    VAL,
    SplitWarning,
    check_split,
    parcel_table,
    random_pixel_split,
    split_summary,
    zone_holdout,
    zone_layer,
)
from cropkit.core.errors import DataError


def sides_of_each_parcel(split, labels):
    parcel, codes = labels["parcel"].values, split.values
    ids = np.unique(parcel[parcel > 0])
    return {int(p): set(np.unique(codes[parcel == p]).tolist()) for p in ids}


def test_parcel_table_counts_pixels_and_finds_centres(toy_scene):
    table = parcel_table(toy_scene["labels"]["parcel"], block_px=20)
    assert len(table) == 32 and (table["pixels"] == 100).all()
    assert table.loc[1, ["row", "col"]].tolist() == [4.5, 4.5]
    # parcel 11 spans rows 10-19 and columns 20-29: centre (14.5, 24.5), block (0, 1)
    assert table.loc[11, ["row", "col", "block"]].tolist() == [14.5, 24.5, 1]
    assert table.loc[25, "block"] == 4  # rows 30-39, columns 0-9: block (1, 0), 4 per row
    with pytest.raises(DataError, match="block_px must be a positive"):
        parcel_table(toy_scene["labels"]["parcel"], block_px=-3)


def test_zone_layer_burns_zone_indices(toy_scene):
    zone = zone_layer(toy_scene["zones"], toy_scene["labels"])
    assert zone.attrs["zone_ids"] == ["z1", "z2"]
    assert np.unique(zone.values[:, :40]).tolist() == [1]
    assert np.unique(zone.values[:, 40:]).tolist() == [2]


def test_zone_holdout_keeps_whole_parcels_and_zones_apart(toy_scene):
    labels = toy_scene["labels"]
    split = zone_holdout(labels, toy_scene["zones"], ["z2"], val_fraction=0.25, block_px=20)
    sides = sides_of_each_parcel(split, labels)
    assert all(len(s) == 1 for s in sides.values())  # no parcel on two sides
    assert set(np.unique(split.values[:, 40:])) == {TEST}
    assert set(np.unique(split.values[:, :40])) == {TRAIN, VAL}
    val_share = (split.values == VAL).sum() / (split.values[:, :40] >= 0).sum()
    assert val_share == 0.25  # one block of 2 x 2 parcels out of four
    again = zone_holdout(labels, toy_scene["zones"], ["z2"], val_fraction=0.25, block_px=20)
    assert (again.values == split.values).all()  # same seed, same split
    west = zone_holdout(labels, toy_scene["zones"], "z1", val_fraction=0)
    assert set(np.unique(west.values)) == {TRAIN, TEST}
    assert set(np.unique(west.values[:, :40])) == {TEST}


def test_a_parcel_across_a_zone_border_follows_its_larger_part(toy_scene):
    zones = gpd.GeoDataFrame(  # the border cuts parcel 4 (columns 30-39) 3 | 7
        {"zone_id": ["west", "east"]},
        geometry=[box(500000, 5399600, 500330, 5400000), box(500330, 5399600, 500800, 5400000)],
        crs=32631,
    )
    split = zone_holdout(toy_scene["labels"], zones, ["east"], val_fraction=0)
    sides = sides_of_each_parcel(split, toy_scene["labels"])
    assert sides[3] == {TRAIN} and sides[4] == {TEST}


def test_zone_holdout_errors_name_the_fix(toy_scene):
    labels, zones = toy_scene["labels"], toy_scene["zones"]
    with pytest.raises(
        DataError, match=r"Unknown test zones \['z9'\]; the zones are \['z1', 'z2'\]"
    ):
        zone_holdout(labels, zones, ["z9"])
    with pytest.raises(DataError, match="Too few parcels.*0 train parcel"):
        zone_holdout(labels, zones, ["z1", "z2"])
    with pytest.raises(DataError, match="val_fraction must be in"):
        zone_holdout(labels, zones, ["z2"], val_fraction=1.5)
    with pytest.raises(DataError, match="no 'zone_id' column"):
        zone_holdout(labels, zones.rename(columns={"zone_id": "name"}), ["z2"])


def test_block_kfold_covers_every_pixel_once_with_whole_parcels(toy_scene):
    labels = toy_scene["labels"]
    folds = block_kfold(labels, k=4, block_px=20, seed=1)
    codes = folds.values
    labelled = labels["parcel"].values > 0
    assert set(np.unique(codes[labelled])) == {0, 1, 2, 3}
    assert (codes[~labelled] == UNUSED).all()
    assert all(len(s) == 1 for s in sides_of_each_parcel(folds, labels).values())
    sizes = np.bincount(codes[labelled])
    assert sizes.tolist() == [800, 800, 800, 800]  # 8 blocks of 400 pixels, two per fold
    rounds = [fold_split(folds, i).values for i in range(4)]
    tested = np.sum([r == TEST for r in rounds], axis=0)
    assert (tested[labelled] == 1).all()  # every pixel is tested exactly once
    first = rounds[0]
    assert ((first == VAL) == (codes == 1)).all() and ((first == TRAIN) == (codes >= 2)).all()
    # two folds: one trains while the other tests, with no validation fold between
    two = block_kfold(labels, k=2, block_px=20, seed=1)
    for i in (0, 1):
        split = fold_split(two, i).values
        assert ((split == TEST) == (two.values == i)).all() and not (split == VAL).any()
        assert ((split == TRAIN) == (two.values == 1 - i)).all()
    with pytest.raises(DataError, match="fewer than folds=9"):
        block_kfold(labels, k=9, block_px=20)
    with pytest.raises(DataError, match=r"at least 2 folds \(folds=1\); use 0 to skip it"):
        block_kfold(labels, k=1)


def test_random_pixel_split_does_split_parcels(toy_scene):
    labels = toy_scene["labels"]
    split = random_pixel_split(labels, test_fraction=0.3, val_fraction=0.1, seed=0)
    labelled = labels["parcel"].values > 0
    assert (split.values[labelled] == TEST).mean() == pytest.approx(0.3, abs=0.03)
    assert sum(len(s) > 1 for s in sides_of_each_parcel(split, labels).values()) == 32


def test_split_summary_and_warnings_name_untrained_classes(toy_scene):
    labels = toy_scene["labels"]
    split = zone_holdout(labels, toy_scene["zones"], ["z2"], val_fraction=0)
    table = split_summary(split, labels["tier4"])
    # the classes with pixels, of the taxonomy's list (which holds every class)
    names = labels["tier4"].attrs["classes"]
    present = [names[i] for i in np.unique(labels["tier4"].values) if i >= 0]
    assert table.index.tolist() == present and len(names) == 21
    assert table["train"].tolist() == [400] * 4 and table["val"].tolist() == [0] * 4
    # no maize parcel in the training zone: a clear warning, and the summary says it
    maize = labels["tier4"].values == names.index("grain_maize")
    no_maize = split.copy(data=np.where(maize & (split.values == TRAIN), UNUSED, split.values))
    with pytest.warns(SplitWarning, match=r"\['grain_maize'\] have test pixels but no training"):
        checked = check_split(no_maize, labels["tier4"])
    assert checked.loc["grain_maize"].tolist() == [0, 0, 400]


def test_validation_blocks_never_take_most_of_a_class(toy_scene):
    labels = toy_scene["labels"]
    split = zone_holdout(labels, toy_scene["zones"], ["z2"], val_fraction=0.9, block_px=20)
    table = split_summary(split, labels["tier4"])
    assert (table["train"] >= table["val"]).all() and table["val"].sum() > 0


def test_labels_without_any_parcel_say_the_parcels_miss_the_area(toy_scene):
    labels = toy_scene["labels"].copy()
    labels["parcel"] = labels["parcel"] * 0  # nothing rasterized: parcels elsewhere
    with pytest.raises(DataError, match="No parcel covers a pixel of the study area"):
        zone_holdout(labels, toy_scene["zones"], ["z2"])
