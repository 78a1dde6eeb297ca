"""Attention of trained models, labelled: dimensions, normalisation, names, summaries."""

import numpy as np
import pytest
import xarray as xr

from cropkit.analysis.attention import (
    attention_models,
    attention_on_observed,
    busiest_patch,
    channel_by_class,
    channels_under_cloud,
    class_profiles,
    extract_attention,
    key_stages,
    ndvi_by_class,
    spectral_by_class,
)
from cropkit.compute.splits import TEST
from cropkit.core.errors import ConfigError
from cropkit.datasets import select_split
from cropkit.experiments.classifiers import get_model


def test_the_models_with_attention_are_listed():
    assert set(attention_models()) == {"ltae", "utae", "attention3dcnn", "dual_stream"}


@pytest.mark.parametrize("name", ["ltae", "utae", "attention3dcnn", "dual_stream"])
def test_temporal_attention_is_labelled_and_sums_to_one_over_dates(tiny_attention_models, name):
    model, data = tiny_attention_models[name]
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
def test_the_weights_are_the_networks_own_they_change_with_the_input(tiny_attention_models, name):
    model, data = tiny_attention_models[name]
    before = extract_attention(model, data, device="cpu", max_samples=40)
    shifted = data.copy()
    shifted["s2"] = data["s2"] * xr.DataArray(np.linspace(0.2, 3.0, 12), dims="time")
    after = extract_attention(model, shifted, device="cpu", max_samples=40)
    assert np.abs(after["temporal"].values - before["temporal"].values).max() > 1e-3


def test_channel_and_spatial_attention_are_labelled(tiny_attention_models, attention_patches):
    model, data = tiny_attention_models["attention3dcnn"]
    att = extract_attention(model, data, device="cpu")
    channels = list(att["band"].values)
    assert att["channel"].dims == ("sample", "band")
    assert channels[:2] == ["s2:B02", "s2:B03"] and channels[-2:] == ["s1:VV", "s1:VH"]
    gate = att["channel"].values
    assert gate.shape[1] == 12 and ((gate > 0) & (gate < 1)).all()
    assert att["spatial"].dims == ("patch", "h", "w")
    assert att.sizes["patch"] == int((attention_patches["split"] == TEST).sum())
    assert "temporal_s1" in att and att["temporal_s1"].dims == ("sample", "head", "time_s1")
    table = channel_by_class(att)
    assert list(table.columns) == channels and set(table.index) <= set(att["tier4"].values)
    test = select_split(attention_patches, TEST)
    shown = busiest_patch(att, test)
    parcels = [np.unique(p[p > 0]).size for p in test["parcel"].values]
    chosen = test["parcel"].values[shown]
    assert np.unique(chosen[chosen > 0]).size == max(parcels) > 1
    cloud = channels_under_cloud(att)
    assert cloud["pixels"].sum() == att.sizes["sample"]
    assert list(cloud.columns) == ["pixels", *channels, "s1_share"]
    filled = cloud.dropna()
    radar = filled[["s1:VV", "s1:VH"]].sum(axis=1) / filled[channels].sum(axis=1)
    np.testing.assert_allclose(filled["s1_share"], radar, rtol=1e-5)


def test_per_class_summaries(tiny_attention_models, toy_pixels):
    model, data = tiny_attention_models["ltae"]
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
    with pytest.raises(ConfigError, match="no 'channel' attention"):
        class_profiles(att, "channel")


def test_spectral_attention_of_the_enmap_stream_sums_to_one(tiny_attention_models):
    model, data = tiny_attention_models["dual_stream"]
    att = extract_attention(model, data, device="cpu")
    assert att["spectral"].dims == ("sample", "group")
    np.testing.assert_allclose(att["spectral"].sum("group").values, 1.0, atol=1e-4)
    assert list(att["group"].values) == model.module.network.enmap.group_names
    table = spectral_by_class(att)  # classes x regions of the spectrum
    assert list(table.columns[:3]) == ["blue", "green", "red"]
    assert set(table.index) == set(att["tier4"].values)
    np.testing.assert_allclose(table.sum(axis=1), 1.0, atol=1e-4)


def test_a_model_without_attention_names_those_with_it(toy_pixels):
    model = get_model("tempcnn", epochs=1)
    with pytest.raises(ConfigError, match=r"models with attention are \['attention3dcnn'"):
        extract_attention(model, toy_pixels)


def test_an_empty_section_names_the_model_to_add():
    from cropkit.analysis.attention import missing_attention

    temporal_only = {"ltae": xr.Dataset({"temporal": ("sample", [0.5])})}
    note = missing_attention(temporal_only, "channel")
    assert note.startswith("No model of this run has channel attention")
    assert "add attention3dcnn to notebook 04's models" in note
    assert missing_attention(temporal_only, "temporal") is None
    gated = {"attention3dcnn": xr.Dataset({"channel": ("sample", [0.5])})}
    assert missing_attention(gated, "channel") is None
    spectral = missing_attention(temporal_only, "spectral")  # dual_stream, and with EnMAP
    assert "add dual_stream to notebook 04's models" in spectral
    assert 'with EnMAP in its inputs (inputs=["s2", "enmap"])' in spectral
