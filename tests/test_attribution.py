"""Integrated Gradients of trained models; attention and gradients scored on a known truth."""

import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from cropkit.analysis.attribution import (
    attribution_profiles,
    integrated_gradients,
    peak_agreement,
    peak_summary,
    rank_agreement,
    truth_scores,
)
from cropkit.compute.splits import TEST
from cropkit.core.errors import MissingExtraError
from cropkit.datasets import select_split


def test_integrated_gradients_add_up_to_the_logit_change(tiny_attention_models):
    pytest.importorskip("captum")
    import torch

    model, data = tiny_attention_models["ltae"]
    attr = integrated_gradients(model, data, max_samples=8, n_steps=64)
    assert attr.dims == ("sample", "time", "band") and attr.sizes["band"] == 10
    # completeness: attributions sum to f(x) - f(baseline) for the reference class
    from cropkit.datasets.torchdata import TensorStreams

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


def test_integrated_gradients_on_patch_models(tiny_attention_models):
    pytest.importorskip("captum")
    model, data = tiny_attention_models["utae"]
    attr = integrated_gradients(model, data, max_samples=3, n_steps=4)
    assert attr.sizes["sample"] == 3 and np.isfinite(attr.values).all()


def test_missing_captum_says_how_to_install(tiny_attention_models, monkeypatch):
    monkeypatch.setitem(sys.modules, "captum", None)
    monkeypatch.setitem(sys.modules, "captum.attr", None)
    with pytest.raises(MissingExtraError, match=r'pip install "cropkit\[explain\]"'):
        integrated_gradients(tiny_attention_models["ltae"][0], tiny_attention_models["ltae"][1])


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


def test_truth_scores_for_every_model_and_their_summary():
    times = pd.date_range("2023-01-01", periods=4, freq="MS")
    separation = xr.DataArray(
        [[0.0, 3.0, 1.0, 0.0]],
        dims=("pair", "time"),
        coords={"a": ("pair", ["x"]), "b": ("pair", ["y"]), "time": times},
    )
    right = _profile(["x", "y"], [[0.1, 0.7, 0.1, 0.1], [0.1, 0.6, 0.2, 0.1]])
    wrong = _profile(["x", "y"], [[0.7, 0.1, 0.1, 0.1], [0.7, 0.1, 0.1, 0.1]])
    table = truth_scores(separation, {"m1": right}, {"m1": wrong, "m2": right}, top=1)
    assert table[["model", "source", "hit"]].values.tolist() == [
        ["m1", "attention", True],
        ["m1", "gradients", False],
        ["m2", "gradients", True],
    ]
    summary = peak_summary(table)
    assert summary.loc[("m1", "attention"), "hit_rate"] == 1.0
    assert summary.loc[("m1", "gradients"), "chance"] == 0.25
    assert peak_summary(table.iloc[:0]).empty
