"""Spectral indices: one definition each, for numpy arrays and xarray objects alike.

The compute layer (crop profiles), the models (the XGBoost pixel features), the analyses
(NDVI against attention) and the plots all read NDVI from here, so they agree to the bit.

>>> import numpy as np
>>> float(ndvi(red=np.float32(0.05), nir=np.float32(0.45)))  # doctest: +ELLIPSIS
0.79999...
"""

from __future__ import annotations

from typing import TypeVar

import xarray as xr

__all__ = ["NDVI_BANDS", "EPSILON", "normalized_difference", "ndvi", "cube_ndvi"]

#: The Sentinel-2 bands of NDVI: red, near infrared.
NDVI_BANDS = ("B04", "B08")

#: Added to a normalized difference's denominator: a dark pixel (both bands 0) gives 0,
#: not a division by zero. Missing values (NaN) stay missing.
EPSILON = 1e-6

Array = TypeVar("Array")


def normalized_difference(a: Array, b: Array) -> Array:
    """``(a - b) / (a + b + EPSILON)``, element by element (numpy, dask or xarray)."""
    return (a - b) / (a + b + EPSILON)


def ndvi(red: Array, nir: Array) -> Array:
    """NDVI of red and near-infrared reflectance of the same shape (any array type)."""
    return normalized_difference(nir, red)


def cube_ndvi(cube: xr.DataArray, dim: str = "band") -> xr.DataArray:
    """NDVI of a cube whose ``dim`` holds ``B04`` and ``B08``; ``dim`` dropped.

    Parameters
    ----------
    cube : xarray.DataArray
        Reflectance, e.g. ``(period, band, y, x)`` composites or ``(sample, time, band)``.
    dim : str
        The band dimension.

    Returns
    -------
    xarray.DataArray
        ``cube``'s dimensions without ``dim``, named ``ndvi``.
    """
    red, nir = (cube.sel({dim: band}, drop=True) for band in NDVI_BANDS)
    return ndvi(red, nir).rename("ndvi")
