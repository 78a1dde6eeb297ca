import numpy as np
import pytest

from cropkit.demo.clouds import (
    TRUTH_CODES,
    SkyState,
    draw_cloud_fraction,
    gaussian_field,
    scene_classification,
    simulate_sky,
    true_mask,
)


def test_gaussian_field_is_standardised_and_smooth():
    f = gaussian_field((128, 128), np.random.default_rng(0), scale_px=30)
    assert f.mean() == pytest.approx(0, abs=1e-9)
    assert f.std() == pytest.approx(1, abs=1e-6)
    neighbour_corr = np.corrcoef(f[:, :-1].ravel(), f[:, 1:].ravel())[0, 1]
    assert neighbour_corr > 0.8


def test_cloud_fraction_follows_the_climatology():
    rng = np.random.default_rng(1)
    for mean in (0.2, 0.5, 0.8):
        draws = np.array([draw_cloud_fraction(mean, rng) for _ in range(4000)])
        assert draws.mean() == pytest.approx(mean, abs=0.05)
        # U-shaped: many nearly clear or nearly overcast scenes
        assert ((draws < 0.1) | (draws > 0.9)).mean() > 0.3


def test_sky_matches_the_requested_cover_and_casts_shadows():
    sky = simulate_sky(
        (200, 200), 0.4, zenith=40, azimuth=150, rng=np.random.default_rng(2), cirrus_probability=0
    )
    assert (sky.tau > 0).mean() == pytest.approx(0.4, abs=0.15)
    assert sky.shadow.max() > 0.5
    assert np.all(sky.cirrus == 0)
    # shadows fall away from the sun (sun in the south-east: shadows to the north-west)
    assert sky.shadow_shift[0] < 0 and sky.shadow_shift[1] < 0


def test_clear_sky_is_clear():
    sky = simulate_sky((64, 64), 0.0, 40, 150, np.random.default_rng(3), cirrus_probability=0)
    assert not sky.tau.any() and not sky.shadow.any()
    truth = true_mask(sky, np.ones((64, 64), bool))
    assert np.all(truth == TRUTH_CODES["clear"])


def _sky(tau, cirrus=None, shadow=None):
    z = np.zeros_like(tau)
    return SkyState(
        tau, z if cirrus is None else cirrus, z if shadow is None else shadow, z, 1000.0, (0.0, 0.0)
    )


def test_true_mask_codes():
    tau = np.array([[0.0, 0.5, 2.0, 0.0]])
    shadow = np.array([[0.0, 0.0, 0.0, 0.6]])
    valid = np.array([[True, True, True, True]])
    assert true_mask(_sky(tau, shadow=shadow), valid).tolist() == [[0, 2, 1, 4]]
    valid[0, 0] = False
    assert true_mask(_sky(tau, shadow=shadow), valid)[0, 0] == 255


def test_scl_flags_thick_clouds_and_nodata():
    h = w = 8
    tau = np.zeros((h, w))
    tau[:4, :4] = 5.0  # thick cloud in one 20 m quadrant
    observed = np.full((h, w, 10), 0.05)
    observed[..., 6] = 0.4  # vegetated NIR
    observed[:4, :4] = 0.6
    valid = np.ones((h, w), bool)
    valid[:, 6:] = False
    scl = scene_classification(
        observed, _sky(tau), np.zeros((h, w), bool), valid, np.random.default_rng(0)
    )
    assert scl.shape == (4, 4)
    assert np.all(scl[:2, :2] == 9)
    assert np.all(scl[:, 3] == 0)
    clear = scl[2:, :3]
    assert np.isin(clear, (4, 7, 1)).all() and (clear == 4).mean() > 0.8


def test_scl_flags_cirrus():
    h = w = 8
    cirrus = np.full((h, w), 0.3)
    observed = np.full((h, w, 10), 0.1)
    scl = scene_classification(
        observed,
        _sky(np.zeros((h, w)), cirrus=cirrus),
        np.zeros((h, w), bool),
        np.ones((h, w), bool),
        np.random.default_rng(0),
    )
    assert (scl == 10).mean() > 0.9
