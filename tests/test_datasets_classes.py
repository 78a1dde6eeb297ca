"""Train and test sets built separately, with different classes: every score path by name."""

import numpy as np
import pytest
import xarray as xr

from cropkit.analysis.confusion import tier_confusions
from cropkit.compute.metrics import classification_report
from cropkit.core.errors import ClassMismatchError, DataError, TaxonomyError
from cropkit.core.taxonomy import load_taxonomy
from cropkit.datasets import (
    ClassesRemappedWarning,
    check_taxonomy,
    dataset_taxonomy,
    from_arrays,
    to_dataset_classes,
)
from cropkit.experiments.classifiers import get_model
from cropkit.experiments.fit import fit_and_score, predictions_frame

LEVEL = {"BTH": 0.1, "MIS": 0.3, "CZH": 0.5, "a": 0.1, "b": 0.3, "c": 0.5}
BANDS = ["B04", "B08"]


def separable(labels, side: str, seed: int = 0, **kwargs):
    """Three classes apart by their reflectance level: a perfect classifier is easy.

    The noise is tiny, and another ``seed`` shuffles the samples' order only, so a
    test sample never falls outside what the trees saw of its class.
    """
    rng = np.random.default_rng(0)
    labels = np.asarray(labels)[np.random.default_rng(seed).permutation(len(labels))]
    level = np.array([LEVEL[c] for c in labels])[:, None, None]
    x = level + rng.normal(0, 1e-4, (labels.size, 4, 2)) * np.arange(1, 5)[:, None]
    return from_arrays(
        x, [10, 40, 70, 100], labels, band_names=BANDS, split=[side] * labels.size, **kwargs
    )


@pytest.fixture(scope="module")
def xgboost():
    train = separable(["BTH", "MIS", "CZH"] * 30, "train")
    return get_model("xgboost", n_estimators=20).fit(train), train


@pytest.fixture(scope="module")
def tempcnn():
    train = separable(["BTH", "MIS", "CZH"] * 30, "train")
    model = get_model("tempcnn", epochs=6, learning_rate=3e-3, samples_per_epoch=256)
    return model.fit(train, progress=False), train


def every_score_path(model, test):
    """predict, predictions_frame, the metrics and the confusion tables, by name."""
    predicted = model.predict(test)
    frame = predictions_frame(test, predicted)
    report = classification_report(frame["true_tier4"], frame["pred_tier4"])
    confusion = tier_confusions(frame, dataset_taxonomy(test))[("tier4", "roll-up")]
    return predicted, frame, report, confusion


@pytest.mark.parametrize("name", ["xgboost", "tempcnn"])
def test_a_test_set_without_a_class_scores_by_name(name, request):
    model, train = request.getfixturevalue(name)
    test = separable(["MIS", "CZH"] * 20, "test", seed=1)  # no wheat: another call
    predicted, frame, report, confusion = every_score_path(model, test)
    assert (predicted == test["tier4"].values).all()  # the taxonomy's indices on both
    assert (frame["pred_tier4"] == frame["true_tier4"]).all()
    assert set(frame["pred_tier4"]) == {"grain_maize", "winter_rapeseed"}
    assert report.macro_f1 == 1.0 and report.overall_accuracy == 1.0
    assert confusion.loc["grain_maize", "grain_maize"] == 20
    assert int(np.trace(confusion.to_numpy())) == 40 == confusion.to_numpy().sum()
    assert model.spec.classes["tier4"] == load_taxonomy().classes(4) == test.attrs["classes_tier4"]


def test_flat_classes_of_separate_calls_are_refused_or_remapped_by_name(xgboost):
    train = separable(["a", "b", "c"] * 30, "train", taxonomy="flat")
    model = get_model("xgboost", n_estimators=20).fit(train)
    no_a = separable(["b", "c"] * 20, "test", seed=1, taxonomy="flat")  # its own flat list
    assert no_a.attrs["classes_tier4"] == ["b", "c"]
    with pytest.raises(ClassMismatchError, match=r"predicts tier4 classes \['a'\] that the"):
        model.predict(no_a)  # 'a' has no index in the test set: refused, not mis-scored
    same = separable(["b", "c"] * 20, "test", seed=1, taxonomy=train)  # the fix it names
    for taxonomy in (train, model.taxonomy):
        same = separable(["b", "c"] * 20, "test", seed=1, taxonomy=taxonomy)
        predicted, frame, report, _ = every_score_path(model, same)
        assert report.macro_f1 == 1.0 and set(frame["pred_tier4"]) == {"b", "c"}
    # a model of fewer classes on a test set that lists more: re-mapped, and said
    small = get_model("xgboost", n_estimators=20).fit(
        separable(["b", "c"] * 30, "train", taxonomy="flat")
    )
    wider = separable(["b", "c", "a"] * 10, "test", seed=2, taxonomy="flat")
    with pytest.warns(ClassesRemappedWarning, match="re-mapped to the dataset's class indices"):
        predicted = small.predict(wider)
    names = np.asarray(wider.attrs["classes_tier4"])[predicted]
    truth = np.asarray(wider.attrs["classes_tier4"])[wider["tier4"].values]
    assert (names[truth != "a"] == truth[truth != "a"]).all() and "a" not in set(names)


def test_predictions_outside_the_class_list_are_refused():
    test = separable(["a", "b"] * 5, "test", taxonomy="flat")
    with pytest.raises(DataError, match=r"run from 0 to 2, but the dataset lists 2 classes"):
        predictions_frame(test, np.array([0, 1, 2, 0, 1, 0, 1, 0, 1, 0]))


def test_to_dataset_classes_leaves_unlabelled_data_and_equal_lists_alone():
    test = separable(["a", "b"] * 2, "test", taxonomy="flat")
    assert to_dataset_classes(np.array([1, 0]), ["a", "b"], test).tolist() == [1, 0]
    unlabelled = test.drop_attrs()
    assert to_dataset_classes(np.array([5]), ["x"], unlabelled).tolist() == [5]
    with pytest.warns(ClassesRemappedWarning, match=r"\['b', 'a'\] and the dataset lists"):
        assert to_dataset_classes(np.array([0, 1]), ["b", "a"], test, "tier4").tolist() == [1, 0]


def test_fit_and_score_takes_the_datasets_taxonomy_and_checks_a_given_one_first():
    train = separable(["a", "b", "c"] * 30, "train", taxonomy="flat")
    test = separable(["a", "b", "c"] * 10, "test", seed=1, taxonomy=train)
    ds = xr.concat([train, test], "sample")
    assert dataset_taxonomy(ds).classes(4) == ["a", "b", "c"]
    result = fit_and_score("xgboost", ds, n_estimators=20)  # no taxonomy=: the dataset's
    assert result.reports["tier4"].macro_f1 == 1.0 and result.reports["tier1"].macro_f1 == 1.0
    with pytest.raises(TaxonomyError, match=r"\['a', 'b', 'c'\] of the dataset are not in the rpg"):
        fit_and_score("tempcnn", ds, taxonomy="rpg", epochs=1000)  # before any epoch
    assert check_taxonomy(ds) == dataset_taxonomy(ds)
