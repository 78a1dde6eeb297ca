import numpy as np
import pandas as pd
import pytest

from cropkit.compute.labels import NO_LABEL
from cropkit.compute.splits import TEST, TRAIN, UNUSED, zone_holdout
from cropkit.core.errors import DataError
from cropkit.datasets import (
    class_names,
    class_weights,
    open_dataset,
    patch_dataset,
    period_doy,
    pixel_dataset,
    save_dataset,
    select_split,
)


@pytest.fixture(scope="module")
def split(toy_scene):
    return zone_holdout(
        toy_scene["labels"], toy_scene["zones"], ["z2"], val_fraction=0.25, block_px=20
    )


def test_period_doy_is_the_middle_of_each_period():
    months = pd.date_range("2023-01-01", periods=12, freq="MS")
    doy = period_doy(months)
    assert doy[0] == 16 and doy[1] == 46 and doy[-1] == 350  # mid-Jan, mid-Feb, mid-Dec
    assert period_doy(pd.DatetimeIndex(["2023-05-01"])).tolist() == [121]


def test_pixel_dataset_shapes_masks_and_labels(toy_scene, split):
    s2, labels = toy_scene["s2"], toy_scene["labels"]
    ds = pixel_dataset(s2, labels, split, s1=toy_scene["s1"], enmap=toy_scene["enmap"])
    n = 32 * 100  # every pixel of the 32 parcels
    assert ds["s2"].shape == (n, 12, 10) and ds["s2"].dtype == np.float32
    assert ds["valid"].shape == (n, 12) and ds["s1"].shape == (n, 12, 2)
    assert ds["enmap"].shape == (n, 5) and ds["wavelength"].values.tolist()[0] == 450.0
    i = 123
    r, c = int(ds["row"][i]), int(ds["col"][i])
    assert (ds["s2"].values[i] == s2["median"].values[:, :, r, c]).all()
    assert (ds["valid"].values[i] == (s2["flags"].values[:, r, c] == 0)).all()
    assert ds["valid"].values.mean() == pytest.approx(0.8, abs=0.03)
    for tier in ("tier4", "tier3", "tier2", "tier1", "parcel", "split"):
        assert (
            ds[tier].values[i]
            == (labels if tier != "split" else {"split": split})[tier].values[r, c]
        )
    enmap = toy_scene["enmap"]["reflectance"].values
    assert ds["enmap"].values[i].tolist() == enmap[:, r // 3, c // 3].tolist()  # 30 m pixel
    assert class_names(ds, "tier2") == labels["tier2"].attrs["classes"]
    assert ds["doy"].values.tolist()[:2] == [16, 46]
    train = select_split(ds, TRAIN)
    assert set(np.unique(train["split"].values)) == {TRAIN}
    assert (train["col"].values < 40).all() and (select_split(ds, TEST)["col"].values >= 40).all()


def test_pixel_dataset_leaves_out_unused_pixels_and_rejects_other_grids(toy_scene, split):
    s2, labels = toy_scene["s2"], toy_scene["labels"]
    fewer = split.copy(data=np.where(split.values == TEST, UNUSED, split.values))
    assert pixel_dataset(s2, labels, fewer).sizes["sample"] == 1600
    with pytest.raises(DataError, match="in EPSG:32630 but the labels are in EPSG:32631"):
        pixel_dataset(s2.assign_attrs(crs="EPSG:32630"), labels, split)
    with pytest.raises(DataError, match="different grids"):
        pixel_dataset(s2.isel(x=slice(0, 60)), labels, split)
    with pytest.raises(DataError, match="No labelled pixel"):
        pixel_dataset(s2, labels, split.copy(data=np.full(split.shape, UNUSED, dtype="int8")))


def test_patch_dataset_windows_and_masked_labels(toy_scene):
    labels = toy_scene["labels"]
    split = zone_holdout(labels, toy_scene["zones"], ["z2"], val_fraction=0)
    ds = patch_dataset(toy_scene["s2"], labels, split, size=16, s1=toy_scene["s1"])
    assert ds["s2"].shape == (2 * 5, 12, 10, 16, 16)  # 2 rows x 5 columns of windows
    assert ds["s1"].shape == (10, 12, 2, 16, 16) and ds["valid"].shape == (10, 12, 16, 16)
    straddling = int(np.flatnonzero((ds["row0"].values == 0) & (ds["col0"].values == 32))[0])
    # columns 32-47 are half train (z1 ends at 40), half test: the tie goes to train
    assert ds["split"].values[straddling] == TRAIN
    other = 32 + np.arange(16) >= 40
    assert (ds["tier4"].values[straddling][:, other] == NO_LABEL).all()
    assert (ds["tier4"].values[straddling][:, ~other] >= 0).all()
    with pytest.raises(DataError, match="larger than the grid"):
        patch_dataset(toy_scene["s2"], labels, split, size=64)


def test_class_weights_lift_rare_classes():
    y = np.array([0] * 90 + [1] * 10 + [NO_LABEL] * 5)
    w = class_weights(y, 3, power=1.0)
    assert w[2] == 0 and w[1] / w[0] == pytest.approx(9.0)
    assert w[:2].mean() == pytest.approx(1.0)
    assert class_weights(y, 3, power=0).tolist() == [1.0, 1.0, 0.0]


def test_datasets_round_trip_through_the_run_folder(toy_scene, split, tmp_path):
    ds = pixel_dataset(toy_scene["s2"], toy_scene["labels"], split)
    save_dataset(ds, tmp_path, "pixels")
    back = open_dataset(tmp_path, "pixels").load()
    # reflectance is kept to 1e-4, as Sentinel-2 L2A stores it
    assert np.abs(back["s2"].values - ds["s2"].values).max() <= 5.1e-5
    assert back.attrs["classes_tier4"] == ds.attrs["classes_tier4"]
    with pytest.raises(DataError, match="run notebook 04_model_training first"):
        open_dataset(tmp_path, "patches")


def test_grid_pixels_covers_the_grid_in_row_major_order(toy_scene):
    from cropkit.datasets import grid_pixels

    block = grid_pixels(toy_scene["s2"], toy_scene["s1"], toy_scene["enmap"], slice(3, 5))
    assert block.sizes["sample"] == 2 * 80
    assert block["row"].values[[0, 80]].tolist() == [3, 4] and block["col"].values[81] == 1
    assert np.array_equal(block["s2"].values[81], toy_scene["s2"]["median"].values[:, :, 4, 1])
    assert block["enmap"].shape == (160, 5) and "tier4" not in block


def test_patches_carry_the_enmap_window_over_them(toy_scene):
    labels = toy_scene["labels"]
    split = zone_holdout(labels, toy_scene["zones"], ["z2"], 0.0)
    patches = patch_dataset(toy_scene["s2"], labels, split, size=8, enmap=toy_scene["enmap"])
    assert patches["enmap"].dims == ("patch", "wavelength", "eh", "ew")
    refl = toy_scene["enmap"]["reflectance"]
    for i in range(3):
        x = toy_scene["s2"]["x"].values[int(patches["col0"][i])]
        y = toy_scene["s2"]["y"].values[int(patches["row0"][i])]
        corner = refl.sel(x=x, y=y, method="nearest").values
        assert np.allclose(patches["enmap"].values[i, :, 0, 0], corner)
    with pytest.raises(DataError, match="positive whole number of pixels, not 0"):
        patch_dataset(toy_scene["s2"], labels, split, size=0)


def test_saved_datasets_are_compact_and_read_back_as_float32(toy_scene, tmp_path):
    import zarr

    labels = toy_scene["labels"]
    split = zone_holdout(labels, toy_scene["zones"], ["z2"], 0.0)
    ds = pixel_dataset(toy_scene["s2"], labels, split, toy_scene["s1"], toy_scene["enmap"])
    path = save_dataset(ds, tmp_path)
    store = zarr.open_group(str(path), mode="r")
    assert store["s2"].dtype == np.int16 and store["tier4"].dtype == np.int16
    back = open_dataset(tmp_path).load()
    assert back["s2"].dtype == np.float32 and back["s1"].dtype == np.float32
    assert np.allclose(back["s2"].values, ds["s2"].values, atol=6e-5)  # 1e-4 reflectance steps
    assert np.allclose(back["s1"].values, ds["s1"].values, atol=6e-3)  # 0.01 dB steps
