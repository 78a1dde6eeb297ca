import numpy as np
import pytest
import rasterio

from cropkit.compute.splits import TRAIN, zone_holdout
from cropkit.core.errors import ConfigError
from cropkit.core.run import RunFolder
from cropkit.core.taxonomy import load_taxonomy
from cropkit.datasets import patch_dataset, pixel_dataset, select_split
from cropkit.experiments.classifiers import get_model
from cropkit.experiments.inference import blend_weights, predict_zone
from cropkit.stages.training import save_map


@pytest.fixture(scope="module")
def split(toy_scene):
    return zone_holdout(toy_scene["labels"], toy_scene["zones"], ["z2"], 0.0)


@pytest.fixture(scope="module")
def pixel_model(toy_scene, split):
    ds = pixel_dataset(toy_scene["s2"], toy_scene["labels"], split, toy_scene["s1"])
    model = get_model(
        "ltae",
        epochs=4,
        samples_per_epoch=2048,
        batch_size=128,
        learning_rate=3e-3,
        inputs=("s2", "s1"),
    )
    return model.fit(select_split(ds, TRAIN), progress=False), ds


def test_pixel_map_matches_the_model_on_every_labelled_pixel(toy_scene, pixel_model):
    model, ds = pixel_model
    crop_map = predict_zone(model, toy_scene["s2"], toy_scene["s1"], rows_per_block=7)
    assert crop_map["class_tier4"].shape == (40, 80)
    at = (ds["row"].values, ds["col"].values)
    assert np.array_equal(crop_map["class_tier4"].values[at], model.predict(ds))
    proba = model.predict_proba(ds)
    assert np.allclose(crop_map["proba_tier4"].values[at], proba.max(1), atol=1e-5)
    # tier 1 has one class (arable crops): its probability sums every tier-4 class
    assert np.allclose(crop_map["proba_tier1"].values, 1, atol=1e-5)
    classes = crop_map["class_tier2"].attrs["classes"]  # the taxonomy's: every run alike
    assert classes == load_taxonomy().classes(2)
    mapped = {classes[i] for i in np.unique(crop_map["class_tier2"].values)}
    assert mapped == {"cereals", "industrial_crops"}  # the families grown


def test_the_map_is_saved_as_cog_and_zarr(toy_scene, pixel_model, tmp_path):
    model, _ = pixel_model
    crop_map = predict_zone(model, toy_scene["s2"], toy_scene["s1"])
    products = save_map(crop_map, RunFolder(tmp_path), "ltae")
    with rasterio.open(products["map_ltae_tier4"]) as src:
        assert src.count == 2 and src.crs.to_epsg() == 32631 and src.nodata == 255
        assert src.profile["dtype"] == "uint8"
        assert np.array_equal(src.read(1), crop_map["class_tier4"].values)
        assert src.read(2).max() <= 100
    assert (tmp_path / "maps" / "ltae.zarr").exists()


def test_patch_map_blends_overlapping_windows(toy_scene, split):
    patches = patch_dataset(toy_scene["s2"], toy_scene["labels"], split, size=8)
    model = get_model("utae", epochs=30, batch_size=8, learning_rate=5e-3, warmup_epochs=0)
    model.fit(select_split(patches, TRAIN), progress=False)
    tiles = predict_zone(model, toy_scene["s2"], overlap=0.0)  # the patches' own windows
    predicted = model.predict(patches)
    for i in range(patches.sizes["patch"]):
        r, c = int(patches["row0"][i]), int(patches["col0"][i])
        assert np.array_equal(tiles["class_tier4"].values[r : r + 8, c : c + 8], predicted[i])
    blended = predict_zone(model, toy_scene["s2"], overlap=0.5)
    labels = toy_scene["labels"]["tier4"].values
    train_zone = (labels >= 0) & (np.arange(80)[None] < 40)
    assert (blended["class_tier4"].values[train_zone] == labels[train_zone]).mean() > 0.8
    with pytest.raises(ConfigError, match="overlap must be in"):
        predict_zone(model, toy_scene["s2"], overlap=1.0)


def test_blend_weights_favour_the_window_middle():
    w = blend_weights(8)
    assert w.shape == (8, 8) and w.min() > 0 and w[3, 3] > w[0, 0]
    assert np.allclose(w, w.T)


def test_a_hierarchical_enmap_model_maps_every_tier_from_its_own_heads(toy_scene, split):
    patches = patch_dataset(
        toy_scene["s2"], toy_scene["labels"], split, size=8, enmap=toy_scene["enmap"]
    )
    small = {"widths": [8, 16], "n_head": 2, "d_model": 16, "fused_width": 16}
    model = get_model("dual_stream", inputs=("s2", "enmap"), epochs=2, batch_size=8, **small)
    model.fit(select_split(patches, TRAIN), progress=False)
    with pytest.raises(ConfigError, match="pass the EnMAP composite"):
        predict_zone(model, toy_scene["s2"])
    tiles = predict_zone(model, toy_scene["s2"], enmap=toy_scene["enmap"], overlap=0.0)
    tiers = model.predict_tiers(patches)  # the same windows: the same answers per tier
    heads = model.predict_tiers(patches, decoding="independent")
    for i in range(patches.sizes["patch"]):
        r, c = int(patches["row0"][i]), int(patches["col0"][i])
        for tier in ("tier4", "tier2"):
            window = tiles[f"class_{tier}"].values[r : r + 8, c : c + 8]
            assert np.array_equal(window, tiers[tier][i])
            own = tiles[f"head_{tier}"].values[r : r + 8, c : c + 8]  # each head's argmax
            assert np.array_equal(own, heads[tier][i])
    # the map's tiers nest (joint decoding); tier_disagreement reads the heads
    tier4 = tiles["class_tier4"].values
    for level in ("tier1", "tier2", "tier3"):
        rolled = np.asarray(model.spec.parents[level])[tier4]
        assert np.array_equal(rolled, tiles[f"class_{level}"].values)


def test_xgboost_with_enmap_maps_a_dask_composite(toy_scene, split):
    """The composites of notebook 03 open lazily; the EnMAP features then mix dask and numpy."""
    from conftest import FAST_XGBOOST

    ds = pixel_dataset(toy_scene["s2"], toy_scene["labels"], split, enmap=toy_scene["enmap"])
    model = get_model("xgboost", inputs=("s2", "enmap"), **FAST_XGBOOST)
    model.fit(select_split(ds, TRAIN))
    lazy = toy_scene["s2"].chunk({"y": 20, "x": 40})
    crop_map = predict_zone(model, lazy, enmap=toy_scene["enmap"], rows_per_block=16)
    at = (ds["row"].values, ds["col"].values)
    assert np.array_equal(crop_map["class_tier4"].values[at], model.predict_proba(ds).argmax(1))


def test_sample_probabilities_follow_the_labelled_pixels(toy_scene, split, pixel_model):
    from cropkit.compute.splits import TEST
    from cropkit.experiments.inference import sample_probabilities

    model, ds = pixel_model
    frame = sample_probabilities(model, ds, TEST)
    test = select_split(ds, TEST)
    assert list(frame.columns[:2]) == ["row", "col"] and len(frame) == test.sizes["sample"]
    assert list(frame.columns[2:]) == list(model.spec.classes["tier4"])
    np.testing.assert_allclose(frame.iloc[:, 2:].sum(axis=1), 1.0, atol=1e-5)
