"""Attention and attributions of trained models, labelled; scored against a known truth."""

import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from cropkit.attention import (
    attention_models,
    attention_on_observed,
    attribution_profiles,
    channel_by_class,
    class_profiles,
    extract_attention,
    integrated_gradients,
    key_stages,
    ndvi_by_class,
    peak_agreement,
    rank_agreement,
)
from cropkit.datasets import patch_dataset, select_split
from cropkit.demo.truth import canopy_separation
from cropkit.errors import ConfigError, MissingExtraError
from cropkit.models import get_model
from cropkit.splits import TEST, TRAIN, zone_holdout

TINY = {
    "ltae": {"epochs": 2, "batch_size": 64, "d_model": 32, "n_head": 4, "samples_per_epoch": 0},
    "utae": {"epochs": 1, "batch_size": 8, "widths": [8, 16], "n_head": 2, "d_model": 16},
    "attention3dcnn": {"epochs": 1, "batch_size": 8, "optical_width": 4, "sar_width": 4},
    "dual_stream": {
        "epochs": 1,
        "batch_size": 8,
        "widths": [8, 16],
        "n_head": 2,
        "d_model": 16,
        "fused_width": 16,
        "head_hidden": 16,
    },
}


@pytest.fixture(scope="module")
def patches(toy_scene):
    split = zone_holdout(toy_scene["labels"], toy_scene["zones"], ["z2"], 0.0)
    return patch_dataset(
        toy_scene["s2"],
        toy_scene["labels"],
        split,
        size=8,
        s1=toy_scene["s1"],
        enmap=toy_scene["enmap"],
    )


@pytest.fixture(scope="module")
def trained(toy_pixels, patches):
    models = {}
    for name, settings in TINY.items():
        data = toy_pixels if name == "ltae" else patches
        inputs = {"attention3dcnn": ("s2", "s1"), "dual_stream": ("s2", "enmap")}.get(name, ("s2",))
        model = get_model(name, inputs=inputs, **settings)
        model.fit(select_split(data, TRAIN), progress=False)
        models[name] = (model, data)
    return models


def test_the_models_with_attention_are_listed():
    assert set(attention_models()) == {"ltae", "utae", "attention3dcnn", "dual_stream"}


@pytest.mark.parametrize("name", list(TINY))
def test_temporal_attention_is_labelled_and_sums_to_one_over_dates(trained, name):
    model, data = trained[name]
    att = extract_attention(model, data, device="cpu")
    test = select_split(data, TEST)
    labelled = int((test["tier4"].values >= 0).sum())
    assert att.sizes["sample"] == labelled
    assert att["temporal"].dims == ("sample", "head", "time")
    assert att.sizes["time"] == 12 and att["time"].values[0] == np.datetime64("2023-01-01")
    np.testing.assert_allclose(att["temporal"].sum("time").values, 1.0, atol=1e-4)
    assert set(att["tier4"].values) <= set(data.attrs["classes_tier4"])
    assert att["observed"].dims == ("sample", "time")
    assert att["observed"].values.mean() == pytest.approx(0.8, abs=0.05)  # 20 % interpolated
    rows = att["row"].values
    if "patch" not in data.dims:
        np.testing.assert_array_equal(rows, test["row"].values)


@pytest.mark.parametrize("name", ["ltae", "utae"])
def test_the_weights_are_the_networks_own_they_change_with_the_input(trained, name):
    model, data = trained[name]
    before = extract_attention(model, data, device="cpu", max_samples=40)
    shifted = data.copy()
    shifted["s2"] = data["s2"] * xr.DataArray(np.linspace(0.2, 3.0, 12), dims="time")
    after = extract_attention(model, shifted, device="cpu", max_samples=40)
    assert np.abs(after["temporal"].values - before["temporal"].values).max() > 1e-3


def test_channel_and_spatial_attention_are_labelled(trained, patches):
    model, data = trained["attention3dcnn"]
    att = extract_attention(model, data, device="cpu")
    channels = list(att["channel"].values)
    assert att["channel_gate"].dims == ("sample", "channel")
    assert channels[:2] == ["s2:B02", "s2:B03"] and channels[-2:] == ["s1:VV", "s1:VH"]
    gate = att["channel_gate"].values
    assert gate.shape[1] == 12 and ((gate > 0) & (gate < 1)).all()
    assert att["spatial"].dims == ("patch", "h", "w")
    assert att.sizes["patch"] == int((patches["split"] == TEST).sum())
    assert "temporal_s1" in att and att["temporal_s1"].dims == ("sample", "head", "time_s1")
    table = channel_by_class(att)
    assert list(table.columns) == channels and set(table.index) <= set(att["tier4"].values)


def test_per_class_summaries(trained, toy_pixels):
    model, data = trained["ltae"]
    att = extract_attention(model, data, device="cpu")
    profiles = class_profiles(att)
    assert profiles.dims == ("class", "head", "time")
    np.testing.assert_allclose(profiles.sum("time").values, 1.0, atol=1e-4)
    observed = attention_on_observed(att)
    assert list(observed.columns) == ["observed", "interpolated", "interpolated_share"]
    assert observed["interpolated_share"].between(0.1, 0.3).all()
    ndvi = ndvi_by_class(toy_pixels)
    assert ndvi.dims == ("class", "quantile", "time")
    assert (ndvi.sel(quantile=0.25) <= ndvi.sel(quantile=0.75)).all()
    stages = key_stages(["grain_maize", "not_a_crop"])
    assert list(stages.index) == ["grain_maize"] and stages.loc["grain_maize", "harvest"] > 250
    with pytest.raises(ConfigError, match="no 'channel_gate' attention"):
        class_profiles(att, "channel_gate")


def test_spectral_attention_of_the_enmap_stream_sums_to_one(trained):
    model, data = trained["dual_stream"]
    att = extract_attention(model, data, device="cpu")
    assert att["spectral"].dims == ("sample", "group")
    np.testing.assert_allclose(att["spectral"].sum("group").values, 1.0, atol=1e-4)


def test_a_model_without_attention_names_those_with_it(toy_pixels):
    model = get_model("tempcnn", epochs=1)
    with pytest.raises(ConfigError, match=r"models with attention are \['attention3dcnn'"):
        extract_attention(model, toy_pixels)


def test_integrated_gradients_add_up_to_the_logit_change(trained):
    pytest.importorskip("captum")
    import torch

    model, data = trained["ltae"]
    attr = integrated_gradients(model, data, max_samples=8, n_steps=64)
    assert attr.dims == ("sample", "time", "band") and attr.sizes["band"] == 10
    # completeness: attributions sum to f(x) - f(baseline) for the reference class
    from cropkit.torchdata import TensorStreams

    part = select_split(data, TEST)
    keep = np.unique(np.linspace(0, part.sizes["sample"] - 1, 8).round().astype(int))
    batch = TensorStreams(part.isel(sample=keep), ("s2",))[torch.arange(len(keep))]
    module = model.module.eval()
    target = batch["tier4"].long()
    with torch.no_grad():
        full = module(batch)["tier4"].gather(1, target[:, None])[:, 0]
        base = dict(batch)
        base["s2"] = module.standardiser.s2_mean.view(1, 1, -1).expand_as(batch["s2"])
        empty = module(base)["tier4"].gather(1, target[:, None])[:, 0]
    np.testing.assert_allclose(attr.sum(("time", "band")).values, (full - empty).numpy(), atol=0.02)
    profiles = attribution_profiles(attr)
    np.testing.assert_allclose(profiles.sum("time").values, 1.0, atol=1e-5)


def test_integrated_gradients_on_patch_models(trained):
    pytest.importorskip("captum")
    model, data = trained["utae"]
    attr = integrated_gradients(model, data, max_samples=3, n_steps=4)
    assert attr.sizes["sample"] == 3 and np.isfinite(attr.values).all()


def test_missing_captum_says_how_to_install(trained, monkeypatch):
    monkeypatch.setitem(sys.modules, "captum", None)
    monkeypatch.setitem(sys.modules, "captum.attr", None)
    with pytest.raises(MissingExtraError, match=r'pip install "cropkit\[explain\]"'):
        integrated_gradients(trained["ltae"][0], trained["ltae"][1])


def _profile(classes, values):
    times = pd.date_range("2023-01-01", periods=len(values[0]), freq="MS")
    return xr.DataArray(
        np.asarray(values, float), dims=("class", "time"), coords={"class": classes, "time": times}
    )


def test_peak_agreement_on_a_hand_made_truth():
    times = pd.date_range("2023-01-01", periods=6, freq="MS")
    separation = xr.DataArray(
        [[0.1, 0.2, 3.0, 2.0, 0.5, 0.1], [5.0, 0.1, 0.1, 0.1, 0.1, 1.0]],
        dims=("pair", "time"),
        coords={"a": ("pair", ["x", "x"]), "b": ("pair", ["y", "z"]), "time": times},
    )
    attention = _profile(
        ["x", "y", "z"],
        [[0, 0, 0.5, 0.3, 0.2, 0], [0, 0, 0.7, 0.1, 0.2, 0], [0, 0, 0, 0, 0, 1.0]],
    )
    table = peak_agreement(separation, {"attention": attention}, top=2)
    first, second = table.iloc[0], table.iloc[1]
    assert (first["peak"], first["peak_rank"], bool(first["hit"])) == ("01 Mar", 1, True)
    assert first["separating"] == "01 Mar, 01 Apr" and first["chance"] == pytest.approx(1 / 3)
    # x and z: mean profile peaks in March (x) ... and June (z, 1.0 / 2 = 0.5 > 0.25): June
    assert (second["peak"], second["peak_rank"], bool(second["hit"])) == ("01 Jun", 2, True)
    assert first["spearman"] > 0.8


def test_rank_agreement_per_class():
    a = _profile(["x", "y"], [[1, 2, 3, 4], [4, 3, 2, 1]])
    b = _profile(["x", "y", "w"], [[1, 2, 3, 5], [1, 2, 3, 4], [1, 1, 1, 1]])
    table = rank_agreement(a, b)
    assert list(table.index) == ["x", "y"]
    assert table.loc["x", "spearman"] == pytest.approx(1.0)
    assert table.loc["y", "spearman"] == pytest.approx(-1.0)


def test_the_simulator_knows_when_look_alike_crops_differ():
    starts = pd.date_range("2023-01-01", periods=12, freq="MS")
    sep = canopy_separation(
        [("grain_maize", "silage_maize"), ("winter_soft_wheat", "winter_barley")], starts
    )
    assert sep.dims == ("pair", "time") and (sep.values >= 0).all()
    maize, cereals = sep.isel(pair=0), sep.isel(pair=1)
    # silage maize is cut in September, grain maize in October-November: they differ then
    assert int(maize.argmax()) in (8, 9)
    assert float(maize.isel(time=[0, 1, 2, 3]).max()) < 0.5  # bare soil alike in winter
    # winter barley ripens and is harvested weeks before wheat: June-July
    assert int(cereals.argmax()) in (5, 6)
    with pytest.raises(ConfigError, match="No simulated calendar"):
        canopy_separation([("grain_maize", "moon_beans")], starts)
