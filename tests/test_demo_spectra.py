import numpy as np
import pytest

from cropkit.demo.spectra import (
    S2_BANDS,
    band_response,
    build_lut,
    canopy_reflectance,
    enmap_bands,
    reference_spectrum,
)


@pytest.fixture(scope="module")
def lut():
    return build_lut()


def ndvi(r):
    return (r[..., 6] - r[..., 2]) / (r[..., 6] + r[..., 2])


def test_band_responses_are_normalised():
    srf = band_response(S2_BANDS["center_nm"].to_numpy(), S2_BANDS["fwhm_nm"].to_numpy())
    np.testing.assert_allclose(srf.sum(axis=1), 1.0)
    flat = srf @ np.full(srf.shape[1], 0.3)
    np.testing.assert_allclose(flat, 0.3)


def test_enmap_has_224_bands_over_vnir_and_swir():
    bands = enmap_bands()
    assert len(bands) == 224
    assert bands["center_nm"].iloc[0] == pytest.approx(418.2)
    assert bands["center_nm"].iloc[-1] == pytest.approx(2445.0)


def test_lut_shapes(lut):
    assert lut.s2.shape[-1] == 10 and lut.enmap.shape[-1] == 224
    assert lut.sets[-2:] == ["forest", "hedge"]
    assert np.all((lut.s2 > 0) & (lut.s2 < 1))


def test_canopy_greens_with_leaf_area(lut):
    table = lut.at_date("s2", tts=40.0, psoil=0.6)
    wheat = lut.set_index(["winter_soft_wheat"])
    lai = np.array([0.0, 0.5, 1.0, 2.0, 4.0, 6.0])
    r = canopy_reflectance(table, np.repeat(wheat, lai.size), lai, np.zeros(lai.size))
    v = ndvi(r)
    assert np.all(np.diff(v) > 0)
    assert v[0] < 0.25 and v[-1] > 0.9
    assert np.all(np.diff(r[:, 2]) < 0)  # red absorbed by chlorophyll


def test_senescence_raises_red_and_lowers_ndvi(lut):
    table = lut.at_date("s2", tts=30.0, psoil=1.0)
    idx = lut.set_index(["winter_soft_wheat"] * 2)
    r = canopy_reflectance(table, idx, np.array([3.0, 3.0]), np.array([0.0, 1.8]))
    assert r[1, 2] > 2 * r[0, 2]
    assert ndvi(r[1]) < 0.5 < ndvi(r[0])


def test_lut_lookup_is_exact_on_grid_nodes(lut):
    table = lut.at_date("s2", tts=45.0, psoil=1.0)
    r = canopy_reflectance(table, np.array([0]), np.array([3.0]), np.array([0.6]))
    np.testing.assert_allclose(r[0], lut.s2[0, 6, 1, 1, 1], rtol=1e-6)


def test_reference_spectra_are_physical():
    water = reference_spectrum("water")
    assert water[400] < 0.01  # 800 nm: water absorbs near-infrared
    snow = reference_spectrum("snow")
    assert snow[100] > 0.85 and snow[1200] < 0.15  # 500 nm bright, 1600 nm dark
