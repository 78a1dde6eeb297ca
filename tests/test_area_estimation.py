"""Olofsson et al. (2014) estimators against the worked example of the paper."""

import numpy as np
import pandas as pd
import pytest

from cropkit.analysis.area_estimation import stratified_estimates
from cropkit.core.errors import DataError

# Olofsson et al. (2014), section 5, table 8: sample counts (map rows, reference columns)
# for deforestation, forest gain, stable forest, stable non-forest; mapped pixels of
# 30 m (0.09 ha)
COUNTS = [[66, 0, 5, 4], [0, 55, 8, 12], [1, 0, 153, 11], [2, 1, 9, 313]]
MAPPED = [200_000, 150_000, 3_200_000, 6_450_000]
CLASSES = ["deforestation", "forest gain", "stable forest", "stable non-forest"]


@pytest.fixture(scope="module")
def paper():
    return stratified_estimates(COUNTS, MAPPED, pixel_area_ha=0.09, classes=CLASSES)


def test_areas_and_their_intervals_match_the_paper(paper):
    table = paper.table
    # the paper: 21,158 +- 6,158 ha; 11,686 +- 3,756; 285,770 +- 15,510; 581,386 +- 16,282
    np.testing.assert_allclose(table["area_ha"], [21158, 11686, 285770, 581386], atol=1)
    np.testing.assert_allclose(table["area_ci95_ha"], [6158, 3756, 15510, 16282], atol=1)
    np.testing.assert_allclose(table["mapped_ha"], [18000, 13500, 288000, 580500])
    assert table["area_ha"].sum() == pytest.approx(table["mapped_ha"].sum())


def test_accuracies_match_the_paper(paper):
    table = paper.table.round(2)
    # the paper: users 0.88 +- 0.07, 0.73 +- 0.10, 0.93 +- 0.04, 0.96 +- 0.02;
    # producers 0.75 +- 0.21, 0.85 +- 0.25, 0.93 +- 0.03, 0.96 +- 0.02; overall 0.95 +- 0.02
    assert list(table["users_accuracy"]) == [0.88, 0.73, 0.93, 0.96]
    assert list(table["users_ci95"]) == [0.07, 0.10, 0.04, 0.02]
    assert list(table["producers_accuracy"]) == [0.75, 0.85, 0.93, 0.96]
    assert list(table["producers_ci95"]) == [0.21, 0.25, 0.03, 0.02]
    assert round(paper.overall_accuracy, 2) == 0.95
    assert round(paper.overall_accuracy_ci95, 2) == 0.02


def test_proportions_hold_the_mapped_weights(paper):
    p = paper.proportions
    np.testing.assert_allclose(p.sum(axis=1), np.asarray(MAPPED) / sum(MAPPED))
    assert p.loc["deforestation", "deforestation"] == pytest.approx(0.02 * 66 / 75)


def test_a_dataframe_gives_the_class_names_and_a_thin_stratum_no_variance():
    counts = pd.DataFrame([[5, 1, 0], [0, 1, 0], [1, 0, 7]], index=["a", "b", "c"])
    est = stratified_estimates(counts, [500, 100, 400], 0.01)
    assert list(est.table.index) == ["a", "b", "c"]
    assert est.table.loc["b", "users_accuracy"] == 1.0
    assert est.table.loc["b", "users_ci95"] == 0.0  # one pixel: no variance term
    assert est.to_dict()["classes"]["a"]["sample"] == 6


@pytest.mark.parametrize(
    "counts, mapped, match",
    [
        ([[1, 2, 3]], [1], "square"),
        ([[1, 0], [0, 1]], [1, 2, 3], "one per map class"),
        ([[1, -1], [0, 1]], [1, 2], "negative"),
        ([[1, 0], [0, 1]], [1, 1], "two reference pixels"),
        ([[3, 0], [0, 3]], [0, 0], "no pixel"),
    ],
)
def test_bad_input_is_named(counts, mapped, match):
    with pytest.raises(DataError, match=match):
        stratified_estimates(counts, mapped)


def test_the_reference_sample_is_drawn_per_map_class():
    from cropkit.analysis.area_estimation import area_sample

    mapped = np.array([[0, 0, 1, 1], [0, 2, 2, 2]])  # map class index per pixel
    frame = pd.DataFrame(
        {
            "row": [0, 0, 0, 1, 1, 1],
            "col": [0, 1, 2, 1, 2, 3],
            "true_tier4": ["a", "b", "b", "c", "c", "a"],
        }
    )
    every = np.nonzero(np.ones_like(mapped))
    counts, pixels = area_sample(frame, mapped, ["a", "b", "c"], *every)
    assert counts.index.name == "map" and counts.columns.name == "reference"
    assert counts.to_numpy().tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert pixels.tolist() == [3, 2, 3]
    one, _ = area_sample(frame, mapped, ["a", "b", "c"], *every, per_class=1, seed=3)
    assert one.sum(axis=1).tolist() == [1, 1, 1]  # one reference pixel per map class
