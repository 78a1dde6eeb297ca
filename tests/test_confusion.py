"""Confusion per tier, parcel voting, parcel bootstrap and McNemar on hand-computed values."""

import numpy as np
import pytest
from conftest import DURUM, MAIZE, MEADOW, WHEAT
from scipy import stats
from sklearn.metrics import f1_score

from cropkit.analysis.confusion import (
    bootstrap_f1,
    confusion_counts,
    long_confusions,
    mcnemar,
    most_confused,
    parcel_predictions,
    pixel_and_parcel_scores,
    row_normalised,
    tier_confusions,
)
from cropkit.core.errors import DataError
from cropkit.core.taxonomy import load_taxonomy


def test_counts_shares_and_the_most_confused_pairs(frame):
    counts = confusion_counts(frame["true_tier4"], frame["pred_tier4"])
    assert counts.loc[WHEAT].tolist() == [1, 0, 1, 4]  # columns in name order
    assert list(counts.columns) == [MAIZE, MEADOW, DURUM, WHEAT]
    shares = row_normalised(counts)
    assert shares.loc[DURUM, WHEAT] == pytest.approx(2 / 3)
    assert shares.loc[MEADOW].isna().all()  # no reference pixel: no share
    top = most_confused(counts, top=2)
    assert top.iloc[0][["reference", "predicted", "pixels"]].tolist() == [DURUM, WHEAT, 2]
    assert top.iloc[0]["share_of_row"] == pytest.approx(2 / 3)


def test_every_tier_by_roll_up_and_by_heads(frame):
    tax = load_taxonomy()
    heads = frame.copy()
    heads["pred_tier2"] = "cereals"  # a head that says cereals everywhere
    out = tier_confusions(heads, tax, hierarchical=True)
    assert set(out) == {(t, "roll-up") for t in ("tier1", "tier2", "tier3", "tier4")} | {
        (t, "heads") for t in ("tier1", "tier2", "tier3")
    }
    rolled = out[("tier2", "roll-up")]
    assert rolled.loc["cereals", "cereals"] == 11 and rolled.loc["cereals", "grassland"] == 1
    assert out[("tier2", "heads")].loc["cereals", "cereals"] == 12
    assert set(tier_confusions(frame, tax)) == {
        (t, "roll-up") for t in ("tier1", "tier2", "tier3", "tier4")
    }
    with pytest.raises(DataError, match="older cropkit"):
        tier_confusions(frame.drop(columns="pred_tier3"), tax)


def test_parcels_by_vote_and_by_mean_probability(frame):
    classes = [DURUM, MAIZE, WHEAT]
    proba = np.full((12, 3), 0.1)
    proba[np.arange(12), [classes.index(p) if p in classes else 0 for p in frame["pred_tier4"]]] = (
        0.8
    )
    proba[3] = [0.0, 0.5, 0.5]  # parcel 2: unsure wheat and maize pixels ...
    proba[4] = [1.0, 0.0, 0.0]  # ... and one very sure durum pixel
    proba[5] = [0.1, 0.45, 0.45]
    parcels = parcel_predictions(frame, proba, classes)
    assert parcels["true"].tolist() == [WHEAT, WHEAT, DURUM, MAIZE]
    # parcel 2: a three-way tie goes to the first name (grain_maize)
    assert parcels["vote"].tolist() == [WHEAT, MAIZE, WHEAT, MAIZE]
    # parcel 2 means: durum 1.1 / 3, maize 0.95 / 3, wheat 0.95 / 3
    assert parcels.loc[2, "mean_proba"] == DURUM
    assert parcels["pixels"].tolist() == [3, 3, 3, 3]
    scores = pixel_and_parcel_scores(frame, parcels)
    assert list(scores.index) == ["pixel", "parcel (vote)", "parcel (mean probability)"]
    assert scores.loc["parcel (vote)", "overall_accuracy"] == pytest.approx(0.5)
    assert scores.loc["pixel", "samples"] == 12 and scores.loc["parcel (vote)", "samples"] == 4
    with pytest.raises(DataError, match="do not match"):
        parcel_predictions(frame, proba[:5], classes)


def test_bootstrap_point_estimates_are_the_plain_f1(frame):
    table = bootstrap_f1(frame["true_tier4"], frame["pred_tier4"], frame["parcel"], n_boot=200)
    classes = [MAIZE, MEADOW, DURUM, WHEAT]
    plain = f1_score(frame["true_tier4"], frame["pred_tier4"], labels=classes, average=None)
    np.testing.assert_allclose(table.loc[[MAIZE, DURUM, WHEAT], "f1"], plain[[0, 2, 3]])
    assert np.isnan(table.loc[MEADOW, "f1"]) and table.loc[MEADOW, "note"] == "no test sample"
    assert table.loc["macro", "f1"] == pytest.approx(np.mean(plain[[0, 2, 3]]))
    scored = table.drop(index=MEADOW)
    assert ((scored["low"] <= scored["f1"] + 1e-9) & (scored["f1"] <= scored["high"] + 1e-9)).all()
    assert table.loc[WHEAT, "parcels"] == 2 and table.loc["macro", "parcels"] == 4


def test_bootstrap_resamples_parcels_not_pixels():
    rng = np.random.default_rng(1)
    parcels = np.repeat(np.arange(40), 50)  # 40 parcels of 50 pixels
    true = np.where(parcels % 2, "a", "b")
    right = np.repeat(rng.random(40) < 0.7, 50)  # a parcel is right or wrong as a whole
    pred = np.where(right, true, np.where(true == "a", "b", "a"))
    by_parcel = bootstrap_f1(true, pred, parcels, n_boot=300)
    by_pixel = bootstrap_f1(true, pred, np.arange(true.size), n_boot=300)
    width = lambda t: t.loc["macro", "high"] - t.loc["macro", "low"]  # noqa: E731
    assert width(by_parcel) > 4 * width(by_pixel)
    perfect = bootstrap_f1(true, true, parcels, n_boot=50)
    assert (perfect[["f1", "low", "high"]].to_numpy(dtype=float) == 1.0).all()


def test_predictions_outside_the_listed_classes_are_misses():
    table = bootstrap_f1(["a", "a", "b"], ["a", "z", "b"], [1, 2, 3], classes=["a", "b"], n_boot=10)
    assert table.loc["a", "f1"] == pytest.approx(2 / 3)  # recall 1/2, precision 1
    with pytest.raises(DataError, match="same length"):
        bootstrap_f1(["a"], ["a", "b"], [1])


def test_mcnemar_is_scipys_exact_binomial_test():
    a = np.array([True] * 8 + [False] * 2 + [True] * 20 + [False] * 5)
    b = np.array([False] * 8 + [True] * 2 + [True] * 20 + [False] * 5)
    out = mcnemar(a, b)
    assert (out["a_only"], out["b_only"], out["both"], out["neither"]) == (8, 2, 20, 5)
    assert out["p_value"] == pytest.approx(stats.binomtest(8, 10, 0.5).pvalue)
    assert out["p_value"] == pytest.approx(112 / 1024)  # 2 * (1 + 10 + 45) / 2 ** 10
    assert out["statistic"] == pytest.approx((8 - 2 - 1) ** 2 / 10)
    assert mcnemar(a, a)["p_value"] == 1.0
    with pytest.raises(DataError):
        mcnemar(a, b[:3])


def test_every_matrix_in_one_long_table(frame):
    tables = {"m": tier_confusions(frame, load_taxonomy())}
    long = long_confusions(tables)
    assert set(long["tier"]) == {"tier1", "tier2", "tier3", "tier4"}
    tier4 = long[(long["tier"] == "tier4")].set_index(["reference", "predicted"])
    assert tier4.loc[(DURUM, WHEAT), "pixels"] == 2
    assert tier4.loc[(DURUM, WHEAT), "share_of_row"] == pytest.approx(2 / 3)
    assert long.groupby(["tier"])["pixels"].sum().tolist() == [12, 12, 12, 12]


def test_mcnemar_shows_as_one_row_with_the_models_named():
    from cropkit.analysis.confusion import mcnemar_table

    result = mcnemar([1, 1, 1, 0, 1, 0], [0, 0, 1, 0, 1, 1])
    table = mcnemar_table(("xgboost", "ltae"), result)
    assert table.index.tolist() == ["xgboost vs ltae"]
    assert table.loc["xgboost vs ltae", "xgboost only right"] == 2
    assert table.loc["xgboost vs ltae", "ltae only right"] == 1
    assert table.loc["xgboost vs ltae", "p_value"] == 1.0 and not table["differ"].item()
