"""Per-crop temporal profiles: parcels rasterized onto a cube, statistics per crop.

Each parcel is first reduced to its mean, then the parcels of a crop are summarised by
their median and inter-quartile range, so that large parcels do not dominate the curve.

Examples
--------
>>> raster = parcel_raster(parcels, composite)            # doctest: +SKIP
>>> curves = crop_profiles(ndvi, raster, parcels["tier4"]) # doctest: +SKIP
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from affine import Affine
from rasterio import features

from ..core.errors import DataError
from .indices import cube_ndvi

__all__ = ["parcel_raster", "burn", "grid_crs", "crop_profiles", "crop_spectra", "ndvi"]


def ndvi(cube: xr.DataArray) -> xr.DataArray:
    """NDVI of a cube whose ``band`` holds ``B04`` and ``B08``.

    The one NDVI of cropkit (:func:`cropkit.compute.indices.cube_ndvi`), kept here for notebook 03.
    """
    return cube_ndvi(cube)


def parcel_raster(parcels: gpd.GeoDataFrame, like: xr.DataArray | xr.Dataset) -> xr.DataArray:
    """Burn parcels onto the grid of ``like`` (regular ``x``/``y`` pixel centres).

    Parameters
    ----------
    parcels : geopandas.GeoDataFrame
        Parcels in any CRS (reprojected to ``like``'s CRS, read from its ``crs``
        attribute or ``epsg`` coordinate).
    like : xarray.DataArray or xarray.Dataset
        Gives the grid.

    Returns
    -------
    xarray.DataArray
        Dims ``(y, x)``, int32: row of ``parcels`` + 1, 0 outside parcels.
    """
    crs = grid_crs(like)
    if crs is None:
        raise DataError("The grid has no CRS (no 'crs' attribute); cannot place the parcels on it.")
    burnt = burn(zip(parcels.to_crs(crs).geometry, range(1, len(parcels) + 1)), like)
    return xr.DataArray(
        burnt, dims=("y", "x"), coords={"y": like["y"], "x": like["x"]}, name="parcel"
    )


def grid_crs(like: xr.DataArray | xr.Dataset) -> str | None:
    """CRS of a cube: its ``crs`` attribute, or its stackstac ``epsg`` coordinate."""
    return like.attrs.get("crs") or (f"EPSG:{int(like['epsg'])}" if "epsg" in like.coords else None)


def burn(shapes, like: xr.DataArray | xr.Dataset) -> np.ndarray:
    """Rasterize ``(geometry, value)`` pairs onto the pixel-centre ``x``/``y`` grid of ``like``.

    Returns
    -------
    numpy.ndarray
        Dims ``(y, x)``, int32, 0 where no shape falls.
    """
    x, y = like["x"].values, like["y"].values
    res_x, res_y = float(x[1] - x[0]), float(y[1] - y[0])
    transform = Affine(res_x, 0, x[0] - res_x / 2, 0, res_y, y[0] - res_y / 2)
    return features.rasterize(
        shapes, out_shape=(y.size, x.size), transform=transform, fill=0, dtype="int32"
    )


def crop_profiles(values: xr.DataArray, raster: xr.DataArray, crop_of_parcel) -> pd.DataFrame:
    """Median and spread over parcels of each crop, for every step of ``values``.

    Parameters
    ----------
    values : xarray.DataArray
        Dims ``(step, y, x)`` (``step`` is ``period`` or ``time``), NaN ignored.
    raster : xarray.DataArray
        Dims ``(y, x)`` from :func:`parcel_raster`.
    crop_of_parcel : array-like
        Crop name of each parcel (row order of the parcels).

    Returns
    -------
    pandas.DataFrame
        Columns ``step`` (the coordinate of the first dim), ``crop``, ``median``,
        ``q25``, ``q75``, ``parcels``.
    """
    step = values.dims[0]
    data = np.asarray(values.values, dtype=float).reshape(values.shape[0], -1)
    idx = np.asarray(raster.values).ravel()
    crops = np.asarray(crop_of_parcel)
    n = len(crops) + 1
    rows = []
    for k in range(data.shape[0]):
        v = data[k]
        ok = (idx > 0) & np.isfinite(v)
        sums = np.bincount(idx[ok], weights=v[ok], minlength=n)
        counts = np.bincount(idx[ok], minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = (sums / counts)[1:]
        frame = pd.DataFrame({"crop": crops, "mean": means}).dropna()
        stats = frame.groupby("crop")["mean"].describe(percentiles=[0.25, 0.5, 0.75])
        for crop, s in stats.iterrows():
            rows.append(
                (values[step].values[k], crop, s["50%"], s["25%"], s["75%"], int(s["count"]))
            )
    return pd.DataFrame(rows, columns=[step, "crop", "median", "q25", "q75", "parcels"])


def crop_spectra(reflectance: xr.DataArray, raster: xr.DataArray, crop_of_parcel) -> pd.DataFrame:
    """Median spectrum over parcels of each crop.

    Parameters
    ----------
    reflectance : xarray.DataArray
        Dims ``(band, y, x)`` with a ``wavelength`` coordinate (nm) along ``band``.
    raster : xarray.DataArray
        Dims ``(y, x)``, from :func:`parcel_raster` on the same grid.
    crop_of_parcel : array-like
        Crop name of each parcel.

    Returns
    -------
    pandas.DataFrame
        Columns ``wavelength``, ``crop``, ``reflectance`` (median), ``q25``, ``q75``.
    """
    stats = crop_profiles(reflectance, raster, crop_of_parcel)
    wavelength = dict(zip(reflectance["band"].values, reflectance["wavelength"].values))
    stats["wavelength"] = stats["band"].map(wavelength)
    return stats.rename(columns={"median": "reflectance"})[
        ["wavelength", "crop", "reflectance", "q25", "q75"]
    ]
