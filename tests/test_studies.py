"""Studies that retrain one model: leakage report, spatial CV, input comparison."""

import pytest
from conftest import FAST_XGBOOST as FAST

from cropkit.errors import DataError
from cropkit.studies import compare_inputs, cross_validate, leakage_report


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
