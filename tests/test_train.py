import json

import numpy as np
import pandas as pd
import pytest
from conftest import FAST_XGBOOST as FAST

from cropkit.compute.splits import TEST, TRAIN, zone_holdout
from cropkit.core.errors import DataError
from cropkit.core.run import RunFolder
from cropkit.datasets import class_names, pixel_dataset
from cropkit.experiments.fit import fit_and_score, fit_models
from cropkit.stages.training import save_result


def test_fit_and_score_reports_every_tier(toy_pixels):
    result = fit_and_score("xgboost", toy_pixels, **FAST)
    frame = result.predictions
    assert len(frame) == (toy_pixels["split"].values == TEST).sum() == 1600
    assert set(frame["split"]) == {TEST}
    summary = result.summary()
    assert summary.index.tolist() == ["tier4", "tier3", "tier2", "tier1"]
    assert summary.loc["tier4", "macro_f1"] > 0.95
    assert summary.loc["tier1", "classes"] == 1  # all four toy crops are arable
    wrong = frame["true_tier4"] != frame["pred_tier4"]
    assert result.reports["tier4"].overall_accuracy == pytest.approx(1 - wrong.mean())
    assert set(frame["true_tier1"]) == {"arable_crops"}


def test_fit_and_score_needs_both_sides(toy_pixels):
    no_test = toy_pixels.assign(
        split=(
            "sample",
            np.where(toy_pixels["split"].values == TEST, TRAIN, toy_pixels["split"].values),
        )
    )
    with pytest.raises(DataError, match="no test sample"):
        fit_and_score("xgboost", no_test, **FAST)


def test_save_result_writes_model_predictions_and_metrics(toy_pixels, tmp_path):
    run = RunFolder(tmp_path)
    result = fit_and_score("xgboost", toy_pixels, **FAST)
    leak = pd.DataFrame({"macro_f1": [1.0, 0.9]}, index=["random pixels", "spatial"])
    products = save_result(result, run, {"leakage_report": leak})
    assert products["model_xgboost"].joinpath("booster.ubj").exists()
    frame = pd.read_parquet(products["predictions_xgboost"])
    assert len(frame) == 1600 and "pred_tier1" in frame
    metrics = json.loads(products["metrics"].read_text())["xgboost"]
    assert metrics["test"]["tier4"]["macro_f1"] == pytest.approx(
        result.reports["tier4"].macro_f1, abs=1e-6
    )
    assert metrics["leakage_report"]["spatial"]["macro_f1"] == 0.9
    assert metrics["inputs"] == ["s2"]


def test_fit_and_score_takes_a_single_input_name_and_refuses_other_tiers(toy_pixels):
    result = fit_and_score("xgboost", toy_pixels, "s1", **FAST)
    assert result.model.inputs == ("s1",)
    with pytest.raises(DataError, match="trains on tier-4 classes"):
        fit_and_score("xgboost", toy_pixels, tier="tier2", **FAST)


def test_deep_pixel_and_patch_models_go_through_the_same_path(toy_scene, tmp_path):
    from cropkit.datasets import patch_dataset

    labels = toy_scene["labels"]
    split = zone_holdout(labels, toy_scene["zones"], ["z2"], 0.25, block_px=20)
    pixels = pixel_dataset(toy_scene["s2"], labels, split, toy_scene["s1"])
    result = fit_and_score(
        "ltae",
        pixels,
        ("s2", "s1"),
        epochs=3,
        samples_per_epoch=2048,
        batch_size=128,
        checkpoint_dir=tmp_path / "ckpt",
    )
    assert len(result.predictions) == 1600 and result.summary().loc["tier4", "macro_f1"] > 0.8
    assert (tmp_path / "ckpt" / "best.ckpt").exists()
    products = save_result(result, RunFolder(tmp_path))
    assert products["model_ltae"].joinpath("weights.pt").exists()
    patches = patch_dataset(toy_scene["s2"], labels, split, size=8)
    result = fit_and_score("utae", patches, epochs=2, batch_size=8)
    frame = result.predictions
    test_labelled = patches["tier4"].values[patches["split"].values == TEST]
    assert len(frame) == (test_labelled >= 0).sum()
    assert frame["row"].max() < 40 and frame["col"].min() >= 40  # the test zone z2
    with pytest.raises(DataError, match="utae is a patch model but the dataset holds pixels"):
        fit_and_score("utae", pixels)


def test_a_class_missing_from_training_is_warned_about(toy_pixels):
    wheat = class_names(toy_pixels).index("winter_soft_wheat")
    train_only = (toy_pixels["tier4"].values != wheat) | (toy_pixels["split"].values != TRAIN)
    ds = toy_pixels.isel(sample=np.flatnonzero(train_only))
    with pytest.warns(UserWarning, match=r"\['winter_soft_wheat'\] have test pixels but no"):
        fit_and_score("xgboost", ds, **FAST)


def test_fit_models_trains_with_the_seed_it_is_given(toy_pixels):
    """Notebook 04's ``seed`` reaches the models, not only the demo and the splits."""
    seeded = fit_models(["xgboost"], {"pixel": toy_pixels}, max_train_pixels=300, seed=7)
    default = fit_models(["xgboost"], {"pixel": toy_pixels}, max_train_pixels=300)
    assert (seeded["xgboost"].model.seed, default["xgboost"].model.seed) == (7, 0)
