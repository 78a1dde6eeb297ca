import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from shapely.geometry import box

from cropkit.compute.profiles import crop_profiles, crop_spectra, ndvi, parcel_raster
from cropkit.core.errors import DataError


@pytest.fixture()
def grid(make_grid):
    return make_grid(4, 6)


@pytest.fixture()
def parcels():
    return gpd.GeoDataFrame(
        {"tier4": ["wheat", "maize", "wheat"]},
        geometry=[
            box(500000, 5000020, 500020, 5000040),
            box(500030, 5000000, 500060, 5000040),
            box(500000, 5000000, 500010, 5000010),
        ],
        crs=32631,
    )


def test_parcels_are_burnt_on_the_grid(grid, parcels):
    r = parcel_raster(parcels, grid).values
    assert r.tolist() == [
        [1, 1, 0, 2, 2, 2],
        [1, 1, 0, 2, 2, 2],
        [0, 0, 0, 2, 2, 2],
        [3, 0, 0, 2, 2, 2],
    ]
    with pytest.raises(DataError, match="no CRS"):
        parcel_raster(parcels, grid.drop_attrs())


def test_profiles_summarise_parcel_means(grid, parcels):
    r = parcel_raster(parcels, grid)
    values = np.stack([np.full((4, 6), 0.2), np.full((4, 6), 0.6)])
    values[1, 0, 0] = 1.0  # parcel 1 mean at step 1: (1 + 0.6 * 3) / 4 = 0.7
    values[1, 3, 0] = 0.5  # parcel 3 at step 1
    da = xr.DataArray(
        values,
        dims=("period", "y", "x"),
        coords={"period": pd.to_datetime(["2023-01-01", "2023-02-01"]), "y": grid.y, "x": grid.x},
    )
    out = crop_profiles(da, r, parcels["tier4"])
    wheat = out[(out["crop"] == "wheat") & (out["period"] == pd.Timestamp("2023-02-01"))].iloc[0]
    assert wheat["median"] == pytest.approx(0.6) and wheat["parcels"] == 2
    assert wheat["q25"] == pytest.approx(0.55) and wheat["q75"] == pytest.approx(0.65)
    maize = out[(out["crop"] == "maize")]
    assert maize["median"].tolist() == pytest.approx([0.2, 0.6])


def test_spectra_and_ndvi(grid, parcels):
    r = parcel_raster(parcels, grid)
    refl = xr.DataArray(
        np.stack([np.full((4, 6), 0.05), np.full((4, 6), 0.45)]),
        dims=("band", "y", "x"),
        coords={
            "band": ["B04", "B08"],
            "wavelength": ("band", [665.0, 833.0]),
            "y": grid.y,
            "x": grid.x,
        },
    )
    spectra = crop_spectra(refl, r, parcels["tier4"])
    assert set(spectra.columns) == {"wavelength", "crop", "reflectance", "q25", "q75"}
    assert spectra[spectra["crop"] == "maize"]["reflectance"].tolist() == pytest.approx(
        [0.05, 0.45]
    )
    assert float(ndvi(refl).mean()) == pytest.approx(0.8, abs=1e-5)  # (0.45 - 0.05) / (0.5 + 1e-6)
