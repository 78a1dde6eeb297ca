import numpy as np
import pytest

from cropkit.demo.sar import ENL, soil_backscatter_db, soil_moisture_series, speckle, water_cloud


def test_bare_soil_is_the_soil_term():
    soil_db = np.array([-12.0])
    assert water_cloud(np.array([0.0]), soil_db, 0.2, 0.15, 35.0)[0] == pytest.approx(10**-1.2)


def test_dense_canopy_saturates_at_its_own_backscatter():
    sigma = water_cloud(np.array([50.0]), np.array([-12.0]), 0.2, 0.15, 35.0)[0]
    assert sigma == pytest.approx(0.2 * np.cos(np.radians(35.0)), rel=1e-6)


def test_wet_and_rough_soil_is_brighter_and_vh_below_vv():
    dry = soil_backscatter_db(np.array([0.1]), np.array([0.0]), "vv")
    wet = soil_backscatter_db(np.array([0.35]), np.array([0.0]), "vv")
    rough = soil_backscatter_db(np.array([0.1]), np.array([2.5]), "vv")
    vh = soil_backscatter_db(np.array([0.1]), np.array([0.0]), "vh")
    assert wet - dry == pytest.approx(6.25)
    assert rough - dry == pytest.approx(2.5)
    assert dry - vh == pytest.approx(7.5)


def test_speckle_has_mean_one_and_the_variance_of_its_looks():
    s = speckle((200_000,), np.random.default_rng(0))
    assert s.mean() == pytest.approx(1.0, abs=0.01)
    assert s.var() == pytest.approx(1 / ENL, rel=0.05)


def test_soil_moisture_rises_with_rain_and_stays_physical():
    rng = np.random.default_rng(0)
    wet = soil_moisture_series(365, [20] * 12, rng)
    dry = soil_moisture_series(365, [1] * 12, np.random.default_rng(0))
    assert 0.05 <= dry.min() and wet.max() <= 0.42
    assert wet.mean() > dry.mean() + 0.1


def test_gamma0_is_sigma0_over_cosine_of_incidence():
    from cropkit.demo.sar import sigma0_to_gamma0

    assert sigma0_to_gamma0(np.array([0.5]), 60.0)[0] == pytest.approx(1.0)
