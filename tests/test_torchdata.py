import numpy as np
import pytest
import torch

from cropkit.datasets import patch_dataset, pixel_dataset, select_split
from cropkit.errors import DataError
from cropkit.splits import TRAIN, zone_holdout
from cropkit.torchdata import (
    PatchTimeSeries,
    PixelTimeSeries,
    balanced_sampler,
    channel_stats,
    loss_weights,
    make_loader,
)


@pytest.fixture(scope="module")
def train_side(toy_scene):
    labels = toy_scene["labels"]
    split = zone_holdout(labels, toy_scene["zones"], ["z2"], 0.0)
    ds = pixel_dataset(toy_scene["s2"], labels, split, toy_scene["s1"], toy_scene["enmap"])
    return select_split(ds, TRAIN)


def test_stats_standardise_the_training_channels(train_side):
    stats = channel_stats(train_side, ("s2", "s1", "enmap"))
    assert stats["mean"].shape == (12,) and stats["inputs"] == ("s2", "s1")
    assert stats["enmap_mean"].shape == (5,)
    data = PixelTimeSeries(train_side, stats)
    flat = data.x.reshape(-1, 12).numpy()
    assert np.allclose(flat.mean(0), 0, atol=1e-3) and np.allclose(flat.std(0), 1, atol=1e-2)


def test_pixel_items_have_the_documented_shapes(train_side):
    data = PixelTimeSeries(train_side, channel_stats(train_side, ("s2", "s1", "enmap")), "tier2")
    item = data[5]
    assert item["x"].shape == (12, 12) and item["x"].dtype == torch.float32
    assert item["doy"].tolist()[:2] == [16, 46] and item["valid"].dtype == torch.bool
    assert item["enmap"].shape == (5,)
    assert item["y_tiers"].shape == (4,) and item["y"] == item["y_tiers"][2]
    assert item["y_tiers"][0] == train_side["tier4"].values[5]
    with pytest.raises(DataError, match="tier must be one of"):
        PixelTimeSeries(train_side, channel_stats(train_side), "tier5")


def test_nan_inputs_become_zero_after_scaling(train_side):
    holes = train_side.copy(deep=True)
    holes["s2"][0, 0, 0] = np.nan
    data = PixelTimeSeries(holes, channel_stats(train_side))
    assert data[0]["x"][0, 0] == 0 and torch.isfinite(data.x).all()


def test_patch_items(toy_scene):
    labels = toy_scene["labels"]
    split = zone_holdout(labels, toy_scene["zones"], ["z2"], 0.0)
    patches = patch_dataset(toy_scene["s2"], labels, split, size=8)
    data = PatchTimeSeries(patches, channel_stats(patches))
    item = data[0]
    assert item["x"].shape == (12, 10, 8, 8) and item["y"].shape == (8, 8)
    assert item["valid"].shape == (12, 8, 8)


def test_balanced_sampler_draws_rare_classes_as_often():
    y = np.array([0] * 900 + [1] * 100)
    sampler = balanced_sampler(y, num_samples=20000, seed=0)
    drawn = y[np.fromiter(iter(sampler), dtype=int)]
    assert (drawn == 1).mean() == pytest.approx(0.5, abs=0.02)
    plain = balanced_sampler(y, power=0.0, num_samples=20000, seed=0)
    assert (y[np.fromiter(iter(plain), dtype=int)] == 1).mean() == pytest.approx(0.1, abs=0.01)
    # n / (K n_c) = 0.556 and 5, scaled to mean 1
    assert loss_weights(y, 2, power=1.0).tolist() == pytest.approx([0.2, 1.8])


def test_loader_batches(train_side):
    data = PixelTimeSeries(train_side, channel_stats(train_side))
    batch = next(iter(make_loader(data, batch_size=64, balanced=True)))
    assert batch["x"].shape == (64, 12, 10) and batch["y"].shape == (64,)


def test_balanced_sampling_of_patches_is_refused_clearly(toy_scene):
    labels = toy_scene["labels"]
    split = zone_holdout(labels, toy_scene["zones"], ["z2"], 0.0)
    patches = patch_dataset(toy_scene["s2"], labels, split, size=8)
    data = PatchTimeSeries(patches, channel_stats(patches))
    with pytest.raises(DataError, match="use balanced=False with patches"):
        make_loader(data, balanced=True)
    assert next(iter(make_loader(data, batch_size=4)))["y"].shape == (4, 8, 8)
