"""Clouds, their shadows, thin cirrus and snow, and the Scene Classification Layer.

Clouds are thresholded Gaussian random fields with a power-law spectrum (cumulus
fields look fractal) whose cover follows the region's monthly climatology; optical
thickness grows from the cloud edge to its core. Shadows are the cloud opacity cast
away from the sun at the cloud's height. The Sentinel-2 L2A Scene Classification Layer
(SCL, 20 m) is derived from what the sensor sees, with the flaws of the real one: thin
cloud edges pass as clear, shadows are projected with a wrong cloud height, dark
surfaces are sometimes taken for shadow.

SCL codes: 0 no data, 1 saturated or defective, 2 dark area, 3 cloud shadow,
4 vegetation, 5 not vegetated, 6 water, 7 unclassified, 8 cloud medium probability,
9 cloud high probability, 10 thin cirrus, 11 snow or ice.

The true mask (:data:`TRUTH_CODES`) is kept beside the SCL so that cloud masks can be
scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, special

from ..compute import indices

__all__ = [
    "TRUTH_CODES",
    "SkyState",
    "gaussian_field",
    "draw_cloud_fraction",
    "simulate_sky",
    "apply_sky",
    "true_mask",
    "scene_classification",
]

#: Codes of the true-condition raster written beside each SCL.
TRUTH_CODES = {
    "clear": 0,
    "cloud": 1,
    "thin_cloud": 2,
    "cirrus": 3,
    "shadow": 4,
    "snow": 5,
    "nodata": 255,
}


def gaussian_field(
    shape: tuple[int, int], rng: np.random.Generator, scale_px: float, beta: float = 3.2
) -> np.ndarray:
    """A zero-mean, unit-variance Gaussian random field with a power-law spectrum.

    Parameters
    ----------
    shape : tuple of int
        ``(y, x)`` size.
    rng : numpy.random.Generator
        Source of the white noise.
    scale_px : float
        Largest structure size (pixels); the spectrum is flat below ``1 / scale_px``.
    beta : float
        Spectral slope; larger values give smoother fields.
    """
    noise = rng.standard_normal(shape)
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    f2 = fy**2 + fx**2 + (1.0 / scale_px) ** 2
    field = np.fft.irfft2(np.fft.rfft2(noise) * f2 ** (-beta / 4), s=shape)
    return (field - field.mean()) / (field.std() + 1e-12)


def draw_cloud_fraction(mean: float, rng: np.random.Generator) -> float:
    """Scene cloud cover drawn from a U-shaped Beta law with the climatological mean.

    Most scenes are either nearly clear or nearly overcast, as in real archives.
    """
    mean = float(np.clip(mean, 0.02, 0.98))
    concentration = 0.9  # below 1 on both sides: a U-shaped law with mean ``mean``
    return float(rng.beta(concentration * mean, concentration * (1 - mean)))


@dataclass
class SkyState:
    """What lies between the sun, the ground and the sensor on one date.

    All arrays have dims ``(y, x)`` on the 10 m grid.

    Attributes
    ----------
    tau : numpy.ndarray
        Cloud optical thickness (0 = clear).
    cirrus : numpy.ndarray
        Optical thickness of thin high cirrus.
    shadow : numpy.ndarray
        Fraction of direct sunlight blocked by a cloud (0 ... 1).
    snow : numpy.ndarray
        Snow cover fraction (0 ... 1).
    cloud_height_m : float
        Height of the cloud layer (used to project shadows).
    shadow_shift : tuple of float
        ``(rows, cols)`` displacement from a cloud to its shadow.
    """

    tau: np.ndarray
    cirrus: np.ndarray
    shadow: np.ndarray
    snow: np.ndarray
    cloud_height_m: float
    shadow_shift: tuple[float, float]

    def rows(self, rows: slice) -> SkyState:
        """The same sky over a band of rows (for rendering a scene in pieces)."""
        return SkyState(
            self.tau[rows],
            self.cirrus[rows],
            self.shadow[rows],
            self.snow[rows],
            self.cloud_height_m,
            self.shadow_shift,
        )


def _shadow_shift(
    height_m: float, zenith: float, azimuth: float, pixel_m: float
) -> tuple[float, float]:
    length = height_m * np.tan(np.radians(zenith)) / pixel_m
    away = np.radians(azimuth + 180.0)
    return (-length * np.cos(away), length * np.sin(away))  # rows grow southwards


def simulate_sky(
    shape: tuple[int, int],
    cloud_fraction: float,
    zenith: float,
    azimuth: float,
    rng: np.random.Generator,
    cirrus_probability: float = 0.2,
    snow_fraction: float = 0.0,
    pixel_m: float = 10.0,
) -> SkyState:
    """Draw the clouds, cirrus, shadows and snow of one acquisition.

    Parameters
    ----------
    shape : tuple of int
        ``(y, x)`` of the 10 m grid.
    cloud_fraction : float
        Share of the scene under cloud (0 ... 1).
    zenith, azimuth : float
        Sun angles (degrees).
    rng : numpy.random.Generator
        Randomness source.
    cirrus_probability : float
        Chance that a cirrus veil is present.
    snow_fraction : float
        Snow cover on open ground (0 ... 1).
    pixel_m : float
        Pixel size (m), to turn the shadow offset into pixels.
    """
    height = float(rng.uniform(600.0, 2200.0))
    shift = _shadow_shift(height, zenith, azimuth, pixel_m)
    pad = int(np.ceil(max(abs(shift[0]), abs(shift[1])))) + 2
    big = (shape[0] + 2 * pad, shape[1] + 2 * pad)
    tau_big = np.zeros(big)
    if cloud_fraction > 0.005:
        field = gaussian_field(big, rng, scale_px=rng.uniform(40, 160))
        thresh = special.ndtri(1.0 - cloud_fraction)
        tau_big = np.clip(field - thresh, 0, None) * rng.uniform(4.0, 10.0)
    opacity = 1.0 - np.exp(-tau_big)
    cast = ndimage.shift(opacity, shift, order=1, mode="constant", cval=0.0)
    inner = (slice(pad, pad + shape[0]), slice(pad, pad + shape[1]))
    tau = tau_big[inner]
    shadow = cast[inner] * np.exp(-tau)
    cirrus = np.zeros(shape)
    if rng.random() < cirrus_probability:
        veil = gaussian_field(shape, rng, scale_px=rng.uniform(150, 400), beta=4.0)
        cirrus = np.clip(veil - rng.uniform(-0.5, 1.0), 0, None) * rng.uniform(0.1, 0.3)
    snow = np.full(shape, float(snow_fraction))
    return SkyState(tau, cirrus, shadow, snow, height, shift)


def apply_sky(
    surface: np.ndarray,
    sky: SkyState,
    cloud_spectrum: np.ndarray,
    cirrus_spectrum: np.ndarray,
    snow_spectrum: np.ndarray,
    snow_cover: np.ndarray,
) -> np.ndarray:
    """Top-of-canopy reflectance as the sensor sees it through the sky.

    Parameters
    ----------
    surface : numpy.ndarray
        ``(y, x, band)`` clear-sky surface reflectance.
    sky : SkyState
        The date's clouds, cirrus, shadows.
    cloud_spectrum, cirrus_spectrum, snow_spectrum : numpy.ndarray
        ``(band,)`` reflectance of a thick cloud, a cirrus veil and fresh snow.
    snow_cover : numpy.ndarray
        ``(y, x)`` snow fraction (already reduced under tall canopies).

    Returns
    -------
    numpy.ndarray
        ``(y, x, band)`` reflectance.
    """
    refl = surface * (1 - snow_cover[..., None]) + snow_spectrum * snow_cover[..., None]
    refl = refl * (1.0 - 0.75 * sky.shadow[..., None])
    trans = np.exp(-sky.tau)[..., None]
    refl = refl * trans + cloud_spectrum * (1 - trans)
    veil = np.exp(-sky.cirrus)[..., None]
    return refl * (0.5 + 0.5 * veil) + cirrus_spectrum * (1 - veil)


def true_mask(sky: SkyState, valid: np.ndarray) -> np.ndarray:
    """The true condition of every 10 m pixel, coded with :data:`TRUTH_CODES`.

    Returns
    -------
    numpy.ndarray
        ``(y, x)`` uint8.
    """
    out = np.zeros(sky.tau.shape, dtype=np.uint8)
    out[sky.snow > 0.5] = TRUTH_CODES["snow"]
    out[sky.shadow > 0.25] = TRUTH_CODES["shadow"]
    out[sky.cirrus > 0.1] = TRUTH_CODES["cirrus"]
    out[(sky.tau > 0.1) & (sky.tau <= 1.0)] = TRUTH_CODES["thin_cloud"]
    out[sky.tau > 1.0] = TRUTH_CODES["cloud"]
    out[~valid] = TRUTH_CODES["nodata"]
    return out


def _block_mean(a: np.ndarray, f: int = 2) -> np.ndarray:
    h, w = a.shape[0] // f * f, a.shape[1] // f * f
    a = a[:h, :w]
    return a.reshape(h // f, f, w // f, f, *a.shape[2:]).mean(axis=(1, 3))


def scene_classification(
    observed: np.ndarray,
    sky: SkyState,
    water: np.ndarray,
    valid: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """A Sentinel-2 L2A-like Scene Classification Layer at 20 m.

    Parameters
    ----------
    observed : numpy.ndarray
        ``(y, x, band)`` reflectance seen by the sensor at 10 m, bands in
        :data:`~cropkit.demo.spectra.S2_BANDS` order.
    sky : SkyState
        The true sky (SCL sees it imperfectly).
    water, valid : numpy.ndarray
        ``(y, x)`` booleans: water bodies, pixels inside the swath.
    rng : numpy.random.Generator
        Randomness of the classifier's mistakes.

    Returns
    -------
    numpy.ndarray
        ``(y // 2, x // 2)`` uint8 SCL codes.
    """
    obs = _block_mean(observed)
    tau = _block_mean(sky.tau)
    cirrus = _block_mean(sky.cirrus)
    snow = _block_mean(sky.snow)
    water20 = _block_mean(water.astype(float)) > 0.5
    valid20 = _block_mean(valid.astype(float)) > 0.5
    blue, red, nir, swir = obs[..., 0], obs[..., 2], obs[..., 6], obs[..., 8]
    ndvi = indices.ndvi(red, nir)

    scl = np.where(ndvi > 0.35, 4, 5).astype(np.uint8)
    scl[(blue + red + nir) / 3 < 0.045] = 2
    scl[water20 & (nir < 0.08)] = 6
    # shadows: the detected clouds projected with a wrong height, where the ground looks dark
    detected = tau > 1.2
    error = rng.uniform(0.6, 1.4)
    shift = (sky.shadow_shift[0] * error / 2, sky.shadow_shift[1] * error / 2)
    projected = ndimage.shift(detected.astype(float), shift, order=0, mode="constant") > 0
    projected = ndimage.binary_dilation(projected, iterations=1)
    dark = nir < np.quantile(nir[valid20], 0.35) if valid20.any() else nir < 0
    scl[projected & dark & ~water20] = 3
    false_shadow = (rng.random(scl.shape) < 0.3) & (nir < 0.12) & ~water20
    scl[ndimage.binary_opening(false_shadow)] = 3
    scl[(snow > 0.5) & (swir < 0.15) & (blue > 0.3)] = 11
    scl[cirrus > 0.2] = 10
    scl[(tau > 0.7) & (rng.random(scl.shape) < 0.5)] = 8  # half of the cloud edges are caught
    scl[(tau > 1.2)] = 8
    scl[tau > 3.0] = 9
    unclassified = rng.random(scl.shape) < 0.004
    unclassified |= (tau > 0.2) & (tau <= 0.7) & (rng.random(scl.shape) < 0.15)
    scl[unclassified & (scl != 9)] = 7
    scl[rng.random(scl.shape) < 1e-4] = 1
    scl[~valid20] = 0
    return scl
