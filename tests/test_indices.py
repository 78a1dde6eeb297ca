import numpy as np
import pytest
import xarray as xr

from cropkit import indices, profiles


def test_ndvi_of_vegetation_soil_dark_and_missing_pixels():
    red = np.array([0.05, 0.20, 0.0, np.nan], dtype=np.float32)
    nir = np.array([0.45, 0.25, 0.0, 0.3], dtype=np.float32)
    out = indices.ndvi(red, nir)
    assert out[0] == pytest.approx(0.8, abs=1e-5) and out[1] == pytest.approx(1 / 9, abs=1e-5)
    assert out[2] == 0.0 and np.isnan(out[3])  # dark: 0, not a division by zero
    assert out.dtype == np.float32


def test_cube_ndvi_drops_the_band_dimension_and_matches_the_arrays():
    rng = np.random.default_rng(0)
    cube = xr.DataArray(
        rng.random((3, 4, 5, 6), dtype=np.float32),
        dims=("period", "band", "y", "x"),
        coords={"band": ["B02", "B04", "B08", "B11"]},
    )
    out = indices.cube_ndvi(cube)
    assert out.dims == ("period", "y", "x") and out.name == "ndvi" and "band" not in out.coords
    expected = indices.ndvi(cube.values[:, 1], cube.values[:, 2])
    np.testing.assert_array_equal(out.values, expected)
    np.testing.assert_array_equal(profiles.ndvi(cube).values, expected)  # notebook 03's


def test_the_xgboost_features_hold_the_same_ndvi(toy_pixels):
    from cropkit.models.xgboost_pixel import pixel_feature_names, pixel_features

    features = pixel_features(toy_pixels, ("s2",))
    names = pixel_feature_names(toy_pixels, ("s2",))
    columns = [k for k, name in enumerate(names) if "ndvi" in name.lower()]
    bands = list(toy_pixels["band"].values)
    s2 = toy_pixels["s2"].values
    expected = indices.ndvi(s2[:, :, bands.index("B04")], s2[:, :, bands.index("B08")])
    assert len(columns) == toy_pixels.sizes["time"]
    np.testing.assert_array_equal(np.asarray(features)[:, columns], expected)
