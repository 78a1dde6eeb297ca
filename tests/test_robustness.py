import numpy as np
import pytest

from cropkit.compute.splits import zone_holdout
from cropkit.core.errors import DataError
from cropkit.datasets import pixel_dataset
from cropkit.experiments.robustness import cloud_robustness, occlude_periods


@pytest.fixture(scope="module")
def toy_pixels(toy_scene):
    split = zone_holdout(toy_scene["labels"], toy_scene["zones"], ["z2"], 0.25, block_px=20)
    return pixel_dataset(toy_scene["s2"], toy_scene["labels"], split, toy_scene["s1"])


def test_occluded_periods_are_interpolated_and_flagged(toy_pixels):
    hidden = occlude_periods(toy_pixels, [4, 5])
    before, after = toy_pixels["s2"].values, hidden["s2"].values
    expected_may = before[:, 3] + (before[:, 6] - before[:, 3]) / 3  # one third of the way
    assert np.allclose(after[:, 4], expected_may, atol=1e-6)
    assert (after[:, [0, 1, 2, 3, 6]] == before[:, [0, 1, 2, 3, 6]]).all()
    assert not hidden["valid"].values[:, [4, 5]].any()
    assert (hidden["s1"].values == toy_pixels["s1"].values).all()  # radar sees through
    edge = occlude_periods(toy_pixels, [0, 1])["s2"].values
    assert (edge[:, 0] == before[:, 2]).all()  # nearest value at the start of the year
    with pytest.raises(DataError, match="between 0 and 11"):
        occlude_periods(toy_pixels, [12])
    with pytest.raises(DataError, match="keep at least one"):
        occlude_periods(toy_pixels, range(12))


def test_radar_keeps_the_score_when_the_season_is_hidden(toy_pixels):
    # the toy crops differ by the month of their peak (3, 4, 7, 2): hiding all but December
    # erases the optical difference, not the radar one
    table, per_class = cloud_robustness(
        "xgboost",
        toy_pixels,
        {"cloudy year": list(range(11))},
        n_estimators=30,
        n_jobs=1,
        max_train_pixels=0,
    )
    assert table.index.tolist() == ["clear", "cloudy year"]
    assert table.loc["clear"].min() > 0.95
    assert table.loc["cloudy year", "S2"] < 0.6 < table.loc["cloudy year", "S2 + S1"]
    assert per_class["S2"].shape == (4, 2)


def test_without_radar_only_the_optical_set_is_trained(toy_pixels):
    table, _ = cloud_robustness(
        "xgboost", toy_pixels.drop_vars("s1"), {"spring": [3, 4]}, n_estimators=5, n_jobs=1
    )
    assert table.columns.tolist() == ["S2"] and table.index.tolist() == ["clear", "spring"]
