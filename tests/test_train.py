import json

import numpy as np
import pandas as pd
import pytest

from cropkit.datasets import pixel_dataset
from cropkit.errors import DataError
from cropkit.run import RunFolder
from cropkit.splits import TEST, TRAIN, block_kfold, zone_holdout
from cropkit.train import (
    compare_inputs,
    cross_validate,
    fit_and_score,
    leakage_report,
    save_result,
)

FAST = {"n_estimators": 30, "n_jobs": 1, "max_train_pixels": 0}


@pytest.fixture(scope="module")
def toy_pixels(toy_scene):
    labels = toy_scene["labels"]
    split = zone_holdout(labels, toy_scene["zones"], ["z2"], 0.25, block_px=20)
    folds = block_kfold(labels, k=4, block_px=20)
    return pixel_dataset(toy_scene["s2"], labels, split, toy_scene["s1"], None, folds)


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


def test_leakage_report_random_split_mixes_parcels(toy_pixels):
    table = leakage_report("xgboost", toy_pixels, seed=0, **FAST)
    assert table.index.tolist() == ["random pixels", "spatial"]
    assert table.loc["spatial", "parcels_on_both_sides"] == 0
    assert table.loc["random pixels", "parcels_on_both_sides"] == 32
    assert table["macro_f1"].between(0, 1).all()


def test_cross_validation_has_one_row_per_fold(toy_pixels):
    table = cross_validate("xgboost", toy_pixels, **FAST)
    assert table.index.tolist() == ["fold 0", "fold 1", "fold 2", "fold 3", "mean", "std"]
    assert table.loc["mean", "macro_f1"] == pytest.approx(table.iloc[:4]["macro_f1"].mean())
    with pytest.raises(DataError, match="no 'fold' variable"):
        cross_validate("xgboost", toy_pixels.drop_vars("fold"), **FAST)


def test_compare_inputs_trains_once_per_combination(toy_pixels):
    head, per_class = compare_inputs("xgboost", toy_pixels, **FAST)
    assert head.index.tolist() == ["S2", "S2 + S1"]  # the toy dataset has no EnMAP
    assert per_class.shape == (4, 2)


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
