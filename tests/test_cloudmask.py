import numpy as np
import pytest
import xarray as xr

from cropkit.compute.cloudmask import (
    SCL_CLASSES,
    apply_mask,
    class_breakdown,
    clear_fraction,
    clear_mask,
    score_mask,
    valid_count,
)
from cropkit.core.errors import ConfigError


def scl(values):
    a = np.array(values, dtype="uint8")
    return xr.DataArray(a.reshape((-1, *a.shape[-2:])), dims=("time", "y", "x"))


def test_default_keeps_classes_4_to_7():
    s = scl([[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]])
    assert clear_mask(s).values[0].astype(int).tolist() == [
        [0, 0, 0, 0],
        [1, 1, 1, 1],
        [0, 0, 0, 0],
    ]


def test_custom_keep_set():
    s = scl([[[4, 5], [6, 11]]])
    assert clear_mask(s, keep=(4, 11)).values[0].tolist() == [[True, False], [False, True]]


@pytest.mark.parametrize("keep", [(4, 12), (-1,), ()])
def test_invalid_keep_sets_are_explained(keep):
    with pytest.raises(ConfigError, match="SCL"):
        clear_mask(scl([[[4]]]), keep=keep)


def test_buffer_grows_clouds_and_shadows_only():
    s = np.full((1, 5, 5), 4, dtype="uint8")
    s[0, 2, 2] = 9
    s[0, 0, 4] = 6  # water is not grown
    m = clear_mask(scl(s), buffer_px=1).values[0].astype(int)
    assert m.tolist() == [
        [1, 1, 1, 1, 1],
        [1, 1, 0, 1, 1],
        [1, 0, 0, 0, 1],
        [1, 1, 0, 1, 1],
        [1, 1, 1, 1, 1],
    ]
    assert clear_mask(scl(s), buffer_px=2).values[0].sum() == 25 - 13


def test_buffer_on_dask_matches_numpy_across_chunks():
    rng = np.random.default_rng(0)
    s = rng.choice([4, 5, 9, 3], p=[0.6, 0.3, 0.05, 0.05], size=(3, 40, 40)).astype("uint8")
    eager = clear_mask(scl(s), buffer_px=2).values
    lazy = clear_mask(scl(s).chunk({"time": 1, "y": 16, "x": 16}), buffer_px=2).values
    np.testing.assert_array_equal(eager, lazy)


@pytest.mark.parametrize("dtype", ["int16", "int64", "float32"])
def test_codes_of_any_type_give_the_uint8_mask(dtype):
    """uint8 SCL is classified by table lookup, other types with isin: same masks."""
    rng = np.random.default_rng(1)
    s = scl(rng.integers(0, 12, size=(4, 30, 30)))
    for buffer_px in (0, 1):
        lookup = clear_mask(s.chunk({"y": 16}), keep=(4, 5, 11), buffer_px=buffer_px)
        other = clear_mask(s.astype(dtype), keep=(4, 5, 11), buffer_px=buffer_px)
        assert lookup.dtype == bool and 0.02 < float(lookup.mean()) < 0.9
        np.testing.assert_array_equal(lookup.values, other.values)


def test_fraction_count_and_breakdown():
    s = scl([[[4, 9], [0, 5]], [[8, 8], [0, 4]]])
    clear = clear_mask(s)
    assert clear_fraction(clear).values.tolist() == [0.5, 0.25]
    assert clear_fraction(clear, s).values.tolist() == pytest.approx([2 / 3, 1 / 3])
    assert valid_count(clear).values.tolist() == [[1, 0], [0, 2]]
    shares = class_breakdown(s)
    assert shares.sel(scl_class=8).values.tolist() == [0.0, 0.5]
    assert shares.sum("scl_class").values.tolist() == [1.0, 1.0]
    assert len(SCL_CLASSES) == 12


def test_apply_mask_sets_nan():
    cube = xr.DataArray(np.ones((1, 2, 1, 2)), dims=("time", "band", "y", "x"))
    clear = xr.DataArray(np.array([[[True, False]]]), dims=("time", "y", "x"))
    out = apply_mask(cube, clear).values
    assert np.isnan(out[0, :, 0, 1]).all() and (out[0, :, 0, 0] == 1).all()


def test_score_mask_against_truth():
    # truth: 0 clear, 1 cloud, 2 thin cloud, 4 shadow, 255 no data
    truth = np.array([[[0, 0, 1, 1, 2, 4, 255]]])
    clear = np.array([[[True, False, False, False, True, False, True]]])
    s = score_mask(clear, truth)
    # flagged: positions 1,2,3,5 -> true positives 2,3,5 (3), false positive 1; missed thin cloud 4
    assert s["precision"] == pytest.approx(3 / 4)
    assert s["recall"] == pytest.approx(3 / 4)
    assert s["leak"] == pytest.approx(1 / 4)
    assert s["pixels"] == 6


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_score_mask_agrees_with_scikit_learn(seed):
    from sklearn.metrics import precision_recall_fscore_support

    rng = np.random.default_rng(seed)
    truth = rng.choice([0, 1, 2, 3, 4, 5, 6, 255], size=(3, 40, 50)).astype("uint8")
    clear = rng.random((3, 40, 50)) < 0.6
    scored = truth.ravel() != 255
    actual = (truth.ravel()[scored] >= 1) & (truth.ravel()[scored] <= 5)
    expected = precision_recall_fscore_support(
        actual, ~clear.ravel()[scored], average="binary", zero_division=0
    )
    s = score_mask(clear, truth)
    assert (s["precision"], s["recall"], s["f1"]) == pytest.approx(expected[:3], abs=1e-12)


def test_score_mask_with_nothing_flagged_scores_zero_not_nan():
    s = score_mask(np.ones((1, 2, 2), bool), np.array([[[1, 0], [0, 255]]], "uint8"))
    assert (s["precision"], s["recall"], s["f1"], s["leak"]) == (0.0, 0.0, 0.0, 1.0)
