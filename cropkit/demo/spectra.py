"""Surface reflectance: PROSAIL canopies and reference spectra, seen by each sensor.

Canopy reflectance comes from PROSPECT-D + 4SAIL (the ``prosail`` package) for each
crop's leaf traits over a grid of leaf area index, brown-pigment content, solar
zenith angle and soil moisture. The 1 nm spectra are convolved with Gaussian spectral
response functions of the Sentinel-2 MSI bands and of the EnMAP HSI bands, and stored
as a lookup table (LUT) in the cache; simulating a scene is then a multilinear
interpolation per pixel.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import prosail

from ..core.paths import cache_dir, data_file
from .phenology import crop_parameters, land_cover_parameters

__all__ = [
    "S2_BANDS",
    "enmap_bands",
    "SpectralLUT",
    "build_lut",
    "reference_spectrum",
    "band_response",
    "sensor_response",
    "canopy_reflectance",
]

#: Wavelengths of PROSAIL's output (nm).
WAVELENGTHS = np.arange(400, 2501, dtype=float)
#: Bump when the way the LUT is computed changes (invalidates cached LUTs).
LUT_VERSION = 4

#: Sentinel-2 MSI bands: ESA band id (index), Earth Search asset key (``common_name``),
#: centre and full width at half maximum (nm), resolution (m).
S2_BANDS = pd.DataFrame(
    [
        ("B02", "blue", 492.4, 66.0, 10),
        ("B03", "green", 559.8, 36.0, 10),
        ("B04", "red", 664.6, 31.0, 10),
        ("B05", "rededge1", 704.1, 15.0, 20),
        ("B06", "rededge2", 740.5, 15.0, 20),
        ("B07", "rededge3", 782.8, 20.0, 20),
        ("B08", "nir", 832.8, 106.0, 10),
        ("B8A", "nir08", 864.7, 21.0, 20),
        ("B11", "swir16", 1613.7, 91.0, 20),
        ("B12", "swir22", 2202.4, 175.0, 20),
    ],
    columns=["band", "common_name", "center_nm", "fwhm_nm", "gsd"],
).set_index("band")

# LUT axes
LAI_GRID = np.array([0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.5, 8.0])
BROWN_GRID = np.array([0.0, 0.6, 1.2, 2.0])
TTS_GRID = np.array([20.0, 45.0, 72.0])
PSOIL_GRID = np.array([0.3, 1.0])  # soil moisture: 0.3 wet ... 1 dry (PROSAIL psoil)
#: Soil brightness factor of PROSAIL's soil spectra (a mid-bright loam).
SOIL_BRIGHTNESS = 0.6
#: Fixed geometry and canopy structure of the LUT: hot-spot parameter, view zenith
#: (near nadir) and relative azimuth (degrees).
HOTSPOT, VIEW_ZENITH, RELATIVE_AZIMUTH = 0.05, 5.0, 60.0
#: Scaling of the brown-pigment axis into PROSPECT's Cbrown.
CBROWN_PER_BROWN = 0.3

# Reference spectra (nm, reflectance) for surfaces PROSAIL does not model.
_REFERENCE = {
    "water": [
        (400, 0.045),
        (490, 0.04),
        (560, 0.045),
        (665, 0.022),
        (750, 0.008),
        (900, 0.004),
        (2500, 0.002),
    ],
    "road": [(400, 0.07), (600, 0.09), (900, 0.12), (1600, 0.16), (2200, 0.15), (2500, 0.14)],
    "building": [
        (400, 0.10),
        (500, 0.12),
        (600, 0.22),
        (700, 0.30),
        (900, 0.34),
        (1600, 0.40),
        (2200, 0.36),
        (2500, 0.33),
    ],
    "snow": [
        (400, 0.92),
        (700, 0.90),
        (900, 0.82),
        (1030, 0.55),
        (1250, 0.35),
        (1500, 0.06),
        (1650, 0.12),
        (2000, 0.02),
        (2200, 0.05),
        (2500, 0.01),
    ],
    "cloud": [
        (400, 0.62),
        (700, 0.66),
        (900, 0.64),
        (1300, 0.55),
        (1600, 0.42),
        (2200, 0.28),
        (2500, 0.22),
    ],
    "cirrus": [
        (400, 0.22),
        (500, 0.18),
        (700, 0.14),
        (900, 0.12),
        (1600, 0.10),
        (2200, 0.08),
        (2500, 0.07),
    ],
    "flower": [
        (400, 0.04),
        (480, 0.05),
        (520, 0.25),
        (560, 0.42),
        (650, 0.46),
        (700, 0.48),
        (800, 0.52),
        (1600, 0.35),
        (2200, 0.2),
        (2500, 0.15),
    ],
}


def enmap_bands() -> pd.DataFrame:
    """EnMAP HSI bands: 91 VNIR (418-993 nm) and 133 SWIR (902-2445 nm), 224 in all.

    Returns
    -------
    pandas.DataFrame
        Columns ``center_nm`` and ``fwhm_nm``, index ``band`` (``"B001"`` ...).
    """
    vnir = np.linspace(418.2, 993.0, 91)
    swir = np.linspace(902.0, 2445.0, 133)
    centers = np.concatenate([vnir, swir])
    fwhm = np.concatenate([np.linspace(6.5, 9.0, 91), np.linspace(9.0, 11.5, 133)])
    index = pd.Index([f"B{i + 1:03d}" for i in range(centers.size)], name="band")
    return pd.DataFrame({"center_nm": centers.round(2), "fwhm_nm": fwhm.round(2)}, index=index)


def band_response(centers: np.ndarray, fwhm: np.ndarray) -> np.ndarray:
    """Gaussian spectral response functions, dims ``(band, wavelength)``, rows sum to 1."""
    sigma = np.asarray(fwhm)[:, None] / (2 * np.sqrt(2 * np.log(2)))
    srf = np.exp(-0.5 * ((WAVELENGTHS[None, :] - np.asarray(centers)[:, None]) / sigma) ** 2)
    return srf / srf.sum(axis=1, keepdims=True)


@lru_cache(maxsize=2)
def sensor_response(sensor: str) -> np.ndarray:
    """Spectral response functions of ``"s2"`` (10 bands) or ``"enmap"`` (224 bands).

    Returns
    -------
    numpy.ndarray
        Dims ``(band, wavelength)``; rows sum to 1.
    """
    bands = S2_BANDS if sensor == "s2" else enmap_bands()
    return band_response(bands["center_nm"].to_numpy(), bands["fwhm_nm"].to_numpy())


def reference_spectrum(name: str) -> np.ndarray:
    """1 nm reflectance spectrum (400-2500 nm) of a reference surface.

    Parameters
    ----------
    name : str
        One of ``water, road, building, snow, cloud, cirrus, flower``.
    """
    nodes = np.array(_REFERENCE[name])
    return np.interp(WAVELENGTHS, nodes[:, 0], nodes[:, 1])


@dataclass
class SpectralLUT:
    """Band reflectance of every canopy on the LUT grid.

    Attributes
    ----------
    sets : list of str
        Canopy names (tier-4 crops, then woodland classes), the LUT's first axis.
    s2 : numpy.ndarray
        Dims ``(set, lai, brown, tts, psoil, band)`` for the 10 Sentinel-2 bands.
    enmap : numpy.ndarray
        Same for the 224 EnMAP bands.
    """

    sets: list[str]
    s2: np.ndarray
    enmap: np.ndarray

    def set_index(self, names: np.ndarray) -> np.ndarray:
        """Positions of canopy ``names`` on the LUT's first axis."""
        lookup = {name: i for i, name in enumerate(self.sets)}
        return np.array([lookup[n] for n in np.asarray(names)], dtype=np.int16)

    def at_date(self, sensor: str, tts: float, psoil: float) -> np.ndarray:
        """The LUT at one sun angle and soil moisture, dims ``(set, lai, brown, band)``."""
        table = self.s2 if sensor == "s2" else self.enmap
        table = _interp_axis(table, TTS_GRID, tts, axis=3)
        return _interp_axis(table, PSOIL_GRID, psoil, axis=3)


def _interp_axis(table: np.ndarray, grid: np.ndarray, value: float, axis: int) -> np.ndarray:
    """Linear interpolation of ``table`` along ``axis`` at ``value`` (clamped)."""
    pos = np.interp(value, grid, np.arange(grid.size))
    lo = int(np.floor(pos))
    hi = min(lo + 1, grid.size - 1)
    w = pos - lo
    return (1 - w) * np.take(table, lo, axis=axis) + w * np.take(table, hi, axis=axis)


def canopy_reflectance(
    lut_at_date: np.ndarray, set_idx: np.ndarray, lai: np.ndarray, brown: np.ndarray
) -> np.ndarray:
    """Bilinear LUT lookup of many pixels.

    Parameters
    ----------
    lut_at_date : numpy.ndarray
        Dims ``(set, lai, brown, band)`` from :meth:`SpectralLUT.at_date`.
    set_idx, lai, brown : numpy.ndarray
        Dims ``(pixel,)``: canopy index, leaf area index and brown pigment.

    Returns
    -------
    numpy.ndarray
        Dims ``(pixel, band)`` reflectance.
    """
    pl = np.interp(lai, LAI_GRID, np.arange(LAI_GRID.size))
    pb = np.interp(brown, BROWN_GRID, np.arange(BROWN_GRID.size))
    l0 = np.minimum(pl.astype(int), LAI_GRID.size - 2)
    b0 = np.minimum(pb.astype(int), BROWN_GRID.size - 2)
    wl = (pl - l0)[:, None]
    wb = (pb - b0)[:, None]
    s = set_idx
    return (
        lut_at_date[s, l0, b0] * (1 - wl) * (1 - wb)
        + lut_at_date[s, l0 + 1, b0] * wl * (1 - wb)
        + lut_at_date[s, l0, b0 + 1] * (1 - wl) * wb
        + lut_at_date[s, l0 + 1, b0 + 1] * wl * wb
    )


def _canopy_traits() -> pd.DataFrame:
    crops = crop_parameters()
    woods = land_cover_parameters()
    woods = woods[woods["pattern"] == "deciduous"]
    cols = ["n_leaf", "cab", "car", "cm", "cw", "ala"]
    return pd.concat([crops[cols], woods[cols]])


def _lut_key() -> str:
    digest = hashlib.sha256()
    for name in ("crops.csv", "landcover.csv"):
        digest.update(data_file(name).read_bytes())
    constants = (LUT_VERSION, SOIL_BRIGHTNESS, HOTSPOT, VIEW_ZENITH, RELATIVE_AZIMUTH)
    grids = (LAI_GRID, BROWN_GRID, TTS_GRID, PSOIL_GRID)
    digest.update(repr((constants, CBROWN_PER_BROWN, grids, prosail.__version__)).encode())
    digest.update(enmap_bands().to_csv().encode() + S2_BANDS.to_csv().encode())
    return digest.hexdigest()[:16]


def build_lut(use_cache: bool = True) -> SpectralLUT:
    """Run PROSAIL over the LUT grid for every canopy (a few seconds; cached).

    Parameters
    ----------
    use_cache : bool
        Reuse the LUT saved in the cache folder when the crop tables are unchanged.
    """
    traits = _canopy_traits()
    path = cache_dir("lut") / f"prosail-{_lut_key()}.npz"
    if use_cache and path.exists():
        with np.load(path) as saved:
            return SpectralLUT(list(saved["sets"]), saved["s2"], saved["enmap"])
    srf_s2, srf_en = sensor_response("s2"), sensor_response("enmap")
    shape = (len(traits), LAI_GRID.size, BROWN_GRID.size, TTS_GRID.size, PSOIL_GRID.size)
    spectra = np.empty((*shape, WAVELENGTHS.size), dtype=np.float32)
    for i, tr in enumerate(traits.itertuples()):
        for j, cbrown in enumerate(BROWN_GRID):
            # senescent leaves lose chlorophyll and water as brown pigments build up
            cab = tr.cab * max(0.02, 1 - 0.65 * cbrown)
            cw = tr.cw * max(0.15, 1 - 0.5 * cbrown)
            _, refl, trans = prosail.run_prospect(
                tr.n_leaf, cab, tr.car, CBROWN_PER_BROWN * cbrown, cw, tr.cm, prospect_version="D"
            )
            for k, lai in enumerate(LAI_GRID):
                for m, tts in enumerate(TTS_GRID):
                    for q, psoil in enumerate(PSOIL_GRID):
                        spectra[i, k, j, m, q] = prosail.run_sail(
                            refl,
                            trans,
                            max(lai, 1e-3),
                            tr.ala,
                            HOTSPOT,
                            tts,
                            VIEW_ZENITH,
                            RELATIVE_AZIMUTH,
                            typelidf=2,
                            rsoil=SOIL_BRIGHTNESS,
                            psoil=psoil,
                        )
    lut = SpectralLUT(
        sets=list(traits.index),
        s2=(spectra @ srf_s2.T).astype(np.float32),
        enmap=(spectra @ srf_en.T).astype(np.float32),
    )
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.npz")
    np.savez_compressed(tmp, sets=np.array(lut.sets), s2=lut.s2, enmap=lut.enmap)
    os.replace(tmp, path)  # atomic: a concurrent reader never sees half a file
    return lut
