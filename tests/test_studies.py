"""Studies that retrain one model: leakage report, spatial CV, input comparison."""

import pytest
from conftest import FAST_XGBOOST as FAST

from cropkit.core.errors import DataError
from cropkit.experiments.studies import compare_inputs, cross_validate, leakage_report


def test_leakage_report_random_split_mixes_parcels(toy_pixels):
    table = leakage_report("xgboost", toy_pixels, seed=0, **FAST)
    assert table.index.tolist() == ["random pixels", "spatial"]
    assert table.loc["spatial", "parcels_on_both_sides"] == 0
    assert table.loc["random pixels", "parcels_on_both_sides"] == 32
    assert table["macro_f1"].between(0, 1).all()


def test_leakage_report_reuses_the_spatial_model_it_is_given(toy_pixels, monkeypatch):
    """Notebook 04 has trained the spatial model already: only the random split trains,
    and the spatial row is that model's score."""
    from cropkit import studies
    from cropkit.experiments.fit import fit_and_score

    spatial = fit_and_score("xgboost", toy_pixels, seed=0, **FAST)
    trained = []

    def counting(*args, **kwargs):
        trained.append(args[0])
        return fit_and_score(*args, **kwargs)

    monkeypatch.setattr(studies, "fit_and_score", counting)
    table = leakage_report("xgboost", toy_pixels, seed=0, spatial=spatial, **FAST)
    assert trained == ["xgboost"]  # the random split only
    assert table.loc["spatial", "macro_f1"] == spatial.reports["tier4"].macro_f1
    assert table.loc["spatial", "parcels_on_both_sides"] == 0
    again = leakage_report("xgboost", toy_pixels, seed=0, **FAST)
    assert again.loc["spatial", "macro_f1"] == table.loc["spatial", "macro_f1"]


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
