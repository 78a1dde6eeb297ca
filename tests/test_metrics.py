import numpy as np
import pytest

from cropkit.compute.metrics import classification_report, tier_reports, tier_summary
from cropkit.core.errors import DataError


def test_scores_match_hand_computed_values():
    # reference a a a b b c ; predicted a a b b c c
    report = classification_report(list("aaabbc"), list("aabbcc"))
    assert report.overall_accuracy == pytest.approx(4 / 6)
    f1 = report.per_class["f1"]
    assert f1["a"] == pytest.approx(0.8)  # P 2/2, R 2/3
    assert f1["b"] == pytest.approx(0.5)  # P 1/2, R 1/2
    assert f1["c"] == pytest.approx(2 / 3)  # P 1/2, R 1/1
    assert report.macro_f1 == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert report.weighted_f1 == pytest.approx((3 * 0.8 + 2 * 0.5 + 2 / 3) / 6)
    # kappa: p_o = 4/6, p_e = (3*2 + 2*2 + 1*2) / 36 = 1/3
    assert report.kappa == pytest.approx((4 / 6 - 1 / 3) / (1 - 1 / 3))
    assert report.confusion.loc["a"].tolist() == [2, 1, 0]
    assert report.confusion.loc["b"].tolist() == [0, 1, 1]


def test_macro_average_runs_over_reference_classes_only():
    # 'z' is predicted but never in the reference: it lowers a's recall, not the class count
    report = classification_report(["a", "a", "b"], ["a", "z", "b"])
    assert report.per_class.loc["z", "support"] == 0
    assert report.macro_f1 == pytest.approx((2 / 3 + 1.0) / 2)
    assert report.to_dict()["per_class"]["a"]["support"] == 2


def test_perfect_predictions_and_bad_input():
    report = classification_report([1, 1, 1], [1, 1, 1])
    assert report.overall_accuracy == report.macro_f1 == report.kappa == 1.0
    with pytest.raises(DataError, match="y_true has 2 labels but y_pred has 3"):
        classification_report([1, 2], [1, 2, 3])
    with pytest.raises(DataError, match="Nothing to score"):
        classification_report([], [])


def test_tier_reports_roll_predictions_up_the_taxonomy():
    true = np.array(["winter_soft_wheat", "winter_durum_wheat", "grain_maize", "wine_vineyard"])
    pred = np.array(["winter_durum_wheat", "winter_durum_wheat", "silage_maize", "wine_vineyard"])
    reports = tier_reports(true, pred)
    assert reports["tier4"].overall_accuracy == 0.5
    # wheat/durum are both cereals (tier 2); grain and silage maize are not (green fodder)
    assert reports["tier2"].overall_accuracy == 0.75
    assert reports["tier1"].overall_accuracy == 1.0  # arable, arable, arable, permanent
    table = tier_summary(reports)
    assert table.index.tolist() == ["tier4", "tier3", "tier2", "tier1"]
    assert table.loc["tier1", "classes"] == 2 and table.loc["tier1", "macro_f1"] == 1.0
