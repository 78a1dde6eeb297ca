"""Per-date imagery of a simulated landscape: Sentinel-2, Sentinel-1 and EnMAP.

:class:`SceneSimulator` holds the static state of a study area (landscape, canopy
per pixel, parcel trajectories, soil) and renders one acquisition at a time, so memory
stays bounded by one date whatever the number of dates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core.regions import Region, SceneGrid
from ..core.taxonomy import Taxonomy
from . import clouds, sar
from .acquisitions import sun_angles
from .landscape import LAND_COVER_CODES, Landscape
from .phenology import (
    crop_parameters,
    deciduous_trajectory,
    land_cover_parameters,
    parcel_trajectories,
)
from .spectra import (
    SpectralLUT,
    canopy_reflectance,
    enmap_bands,
    reference_spectrum,
    sensor_response,
)

__all__ = ["SceneSimulator", "S2Scene"]

_GRASS = "permanent_meadow"


@dataclass
class S2Scene:
    """One simulated Sentinel-2 L2A acquisition.

    Attributes
    ----------
    reflectance : numpy.ndarray
        ``(band, y, x)`` surface reflectance at 10 m (NaN outside the swath).
    scl : numpy.ndarray
        ``(y/2, x/2)`` uint8 Scene Classification Layer.
    truth : numpy.ndarray
        ``(y, x)`` uint8 true sky condition (:data:`~cropkit.demo.clouds.TRUTH_CODES`).
    valid : numpy.ndarray
        ``(y, x)`` bool, inside the swath.
    cloud_cover : float
        Percentage of valid 20 m pixels that SCL flags as cloud (8, 9, 10), as
        ``eo:cloud_cover`` is computed.
    """

    reflectance: np.ndarray
    scl: np.ndarray
    truth: np.ndarray
    valid: np.ndarray
    cloud_cover: float


def _sensor_spectra(names: list[str], srf: np.ndarray) -> dict[str, np.ndarray]:
    return {n: srf @ reference_spectrum(n) for n in names}


class SceneSimulator:
    """Render acquisitions of one study area for one year.

    Parameters
    ----------
    region : Region
        Climate and soil of the site.
    grid : SceneGrid
        10 m grid.
    landscape : Landscape
        Parcels and land cover on ``grid``.
    taxonomy : Taxonomy
        Maps each parcel's RPG code to its tier-4 crop.
    lut : SpectralLUT
        PROSAIL lookup tables.
    year : int
        Simulated year.
    rng : numpy.random.Generator
        Randomness source for the static state.
    lead_days : int
        Days simulated before 1 January (the autumn of the year before, for a winter
        season: sowing, emergence and dormancy of winter crops).
    """

    def __init__(
        self,
        region: Region,
        grid: SceneGrid,
        landscape: Landscape,
        taxonomy: Taxonomy,
        lut: SpectralLUT,
        year: int,
        rng: np.random.Generator,
        lead_days: int = 0,
    ) -> None:
        self.region, self.grid, self.lut, self.year = region, grid, lut, year
        props = region.properties
        self.days_in_year = 366 if year % 4 == 0 else 365
        self.lead_days = int(lead_days)
        self.doy = np.arange(1 - self.lead_days, self.days_in_year + 1, dtype=float)
        dryness = float(np.clip(1.0 - props["rain_days"][6] / 10.0, 0.0, 1.0))
        tier4 = taxonomy.table.loc[landscape.parcels["CODE_CULTU"], "tier4"].to_numpy()
        self.tier4 = tier4
        zone = pd.factorize(landscape.parcels["zone_id"].fillna(""), sort=True)[0]
        self.traj = parcel_trajectories(tier4, self.doy, rng, dryness, zone)
        self.moisture = sar.soil_moisture_series(
            self.days_in_year, props["rain_days"], rng, self.lead_days
        )

        self.cover = landscape.cover
        self.pidx = landscape.parcel_index.ravel() - 1  # -1: no parcel
        crop_px = self.pidx >= 0
        self.crop_px = crop_px
        cov = self.cover.ravel()
        set_names = np.full(cov.size, _GRASS, dtype=object)
        set_names[crop_px] = tier4[self.pidx[crop_px]]
        set_names[cov == LAND_COVER_CODES["forest"]] = "forest"
        set_names[cov == LAND_COVER_CODES["hedge"]] = "hedge"
        self.set_idx = lut.set_index(set_names)
        self.reference_px = {
            name: cov == LAND_COVER_CODES[name] for name in ("road", "building", "water")
        }
        params = crop_parameters()
        self.fcover = np.ones(cov.size)
        self.fcover[crop_px] = params.loc[tier4, "fcover"].to_numpy()[self.pidx[crop_px]]
        self.perennial_px = self.fcover < 1.0
        # within-field heterogeneity and soil brightness
        self.vigour = np.exp(0.12 * clouds.gaussian_field(grid.shape, rng, scale_px=12)).ravel()
        parcel_soil = props["soil_brightness"] * np.exp(rng.normal(0, 0.12, len(tier4)))
        self.soil = np.full(cov.size, props["soil_brightness"])
        self.soil[crop_px] = parcel_soil[self.pidx[crop_px]]
        self.roughness_db = rng.normal(0.0, 1.0, len(tier4))
        self.moisture_offset = rng.normal(0.0, 0.03, len(tier4))
        cyclic = np.where(self.doy < 1, self.doy + 365, self.doy)  # woods: last autumn too
        self.woods = {name: deciduous_trajectory(name, cyclic) for name in ("forest", "hedge")}
        names = ["water", "road", "building", "snow", "cloud", "cirrus", "flower"]
        self.spectra = {s: _sensor_spectra(names, sensor_response(s)) for s in ("s2", "enmap")}
        centers = enmap_bands()["center_nm"].to_numpy()
        absorption = np.exp(-(((centers - 1395) / 45) ** 2)) + np.exp(
            -(((centers - 1890) / 60) ** 2)
        )
        self.enmap_noise = 0.004 + 0.03 * absorption

    # -- canopy state -------------------------------------------------------------------
    def _day(self, when: pd.Timestamp) -> int:
        """Index of ``when`` in the simulated days (0: the first day simulated)."""
        days = (when.tz_localize(None).normalize() - pd.Timestamp(self.year, 1, 1)).days
        index = days + self.lead_days
        if not 0 <= index < len(self.doy):
            raise ValueError(f"{when} is outside the simulated days of {self.year}.")
        return int(index)

    def _sun(self, when: pd.Timestamp) -> tuple[float, float]:
        """Solar zenith and azimuth at the acquisition's local solar time."""
        solar_hour = when.hour + when.minute / 60 + self.region.lon / 15.0
        zenith, azimuth = sun_angles([when.dayofyear], self.region.lat, local_hour=solar_hour)
        return float(zenith[0]), float(azimuth[0])

    def canopy_state(self, day: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """LAI and brown pigment of every pixel on ``day`` (0-based), dims ``(pixel,)``."""
        lai = np.full(self.pidx.size, 1.4)
        brown = np.full(self.pidx.size, 0.4)
        p = self.pidx[self.crop_px]
        lai[self.crop_px] = self.traj.lai[p, day]
        brown[self.crop_px] = self.traj.brown[p, day]
        for name, (wlai, wbrown) in self.woods.items():
            mask = self.cover.ravel() == LAND_COVER_CODES[name]
            lai[mask], brown[mask] = wlai[day], wbrown[day]
        lai = lai * self.vigour * np.exp(rng.normal(0, 0.03, lai.size))
        return lai, brown

    def surface(
        self,
        sensor: str,
        day: int,
        zenith: float,
        lai: np.ndarray,
        brown: np.ndarray,
        rng: np.random.Generator,
        pixels: slice = slice(None),
    ) -> np.ndarray:
        """Clear-sky surface reflectance of a run of pixels.

        Parameters
        ----------
        sensor : str
            ``"s2"`` or ``"enmap"``.
        day : int
            Day of year, 0-based.
        zenith : float
            Solar zenith angle (degrees).
        lai, brown : numpy.ndarray
            ``(pixel,)`` canopy state of the whole grid (from :meth:`canopy_state`).
        rng : numpy.random.Generator
            Randomness of the reference surfaces.
        pixels : slice
            Which pixels (row-major order) to render; all by default. Rendering in
            slices keeps memory bounded for many bands or large zones.

        Returns
        -------
        numpy.ndarray
            Dims ``(pixel, band)``.
        """
        mv = self.moisture[day]
        psoil = float(np.clip(1.0 - (mv - 0.05) / 0.37, 0.3, 1.0))
        table = self.lut.at_date(sensor, zenith, psoil)
        lai, brown, pidx = lai[pixels], brown[pixels], self.pidx[pixels]
        refl = canopy_reflectance(table, self.set_idx[pixels], lai, brown)
        refl *= (1 + (self.soil[pixels] - 1) * np.exp(-0.6 * lai))[:, None]
        spectra = self.spectra[sensor]
        per = self.perennial_px[pixels]
        if per.any():
            p = pidx[per]
            grass = np.full(per.sum(), self.lut.sets.index(_GRASS), dtype=np.int16)
            under = canopy_reflectance(
                table, grass, self.traj.under_lai[p, day], self.traj.under_brown[p, day]
            )
            fc = self.fcover[pixels][per][:, None]
            refl[per] = fc * refl[per] + (1 - fc) * under
        crop = self.crop_px[pixels]
        flower = np.zeros(pidx.size)
        flower[crop] = self.traj.flower[pidx[crop], day]
        refl += flower[:, None] * (spectra["flower"] - refl)
        for name, mask in self.reference_px.items():
            mask = mask[pixels]
            refl[mask] = spectra[name] * np.exp(rng.normal(0, 0.08, (mask.sum(), 1)))
        return refl

    # -- sensors --------------------------------------------------------------------------
    def sentinel2(self, when: pd.Timestamp, swath_edge: bool, rng: np.random.Generator) -> S2Scene:
        """Render one Sentinel-2 L2A acquisition."""
        day = self._day(when)
        h, w = self.grid.shape
        zenith, azimuth = self._sun(when)
        lai, brown = self.canopy_state(day, rng)
        surface = self.surface("s2", day, zenith, lai, brown, rng).reshape(h, w, -1)
        props = self.region.properties
        fraction = clouds.draw_cloud_fraction(props["cloud_cover"][when.month - 1], rng)
        snow = 0.0
        if when.month in (12, 1, 2) and rng.random() < props["snow_days"] / 30.0:
            snow = rng.uniform(0.6, 1.0)
        sky = clouds.simulate_sky((h, w), fraction, zenith, azimuth, rng, snow_fraction=snow)
        snow_cover = sky.snow * np.exp(-0.5 * lai.reshape(h, w))
        sky.snow = snow_cover
        spectra = self.spectra["s2"]
        observed = clouds.apply_sky(
            surface, sky, spectra["cloud"], spectra["cirrus"], spectra["snow"], snow_cover
        )
        observed += rng.normal(0, 1, observed.shape) * (0.003 + 0.01 * observed)
        valid = np.ones((h, w), dtype=bool)
        if swath_edge:
            yy, xx = np.mgrid[0:h, 0:w]
            angle = np.radians(rng.uniform(-20, 20))
            proj = xx * np.cos(angle) + yy * np.sin(angle)
            valid = proj < np.quantile(proj, rng.uniform(0.3, 0.8))
        water = self.cover == LAND_COVER_CODES["water"]
        scl = clouds.scene_classification(observed, sky, water, valid, rng)
        truth = clouds.true_mask(sky, valid)
        observed[~valid] = np.nan
        in_swath = scl != 0
        cloudy = np.isin(scl, (8, 9, 10)) & in_swath
        cover = 100.0 * cloudy.sum() / max(in_swath.sum(), 1)
        return S2Scene(
            observed.transpose(2, 0, 1).astype(np.float32), scl, truth, valid, round(cover, 2)
        )

    def sentinel1(
        self, when: pd.Timestamp, incidence: float, rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Render one Sentinel-1 RTC acquisition: ``{"vv": (y, x), "vh": (y, x)}`` linear γ⁰."""
        day = self._day(when)
        h, w = self.grid.shape
        lai, _ = self.canopy_state(day, rng)
        params = crop_parameters()
        cov = self.cover.ravel()
        p = self.pidx[self.crop_px]
        moisture = np.full(lai.size, self.moisture[day])
        moisture[self.crop_px] += self.moisture_offset[p]
        rough = np.zeros(lai.size)
        rough[self.crop_px] = self.roughness_db[p] + 2.5 * self.traj.tilled[p, day]
        out = {}
        landcover = land_cover_parameters()
        for pol in ("vv", "vh"):
            a = np.full(lai.size, float(params.loc[_GRASS, f"sar_a_{pol}"]))
            b = np.full(lai.size, float(params.loc[_GRASS, f"sar_b_{pol}"]))
            a[self.crop_px] = params.loc[self.tier4, f"sar_a_{pol}"].to_numpy()[p]
            b[self.crop_px] = params.loc[self.tier4, f"sar_b_{pol}"].to_numpy()[p]
            soil_db = sar.soil_backscatter_db(np.clip(moisture, 0.03, 0.45), rough, pol)
            sigma = sar.water_cloud(lai, soil_db, a, b, incidence)
            for name in ("forest", "hedge", "road", "building", "water"):
                mask = cov == LAND_COVER_CODES[name]
                level = landcover.loc[name, f"sigma0_{pol}_db"]
                if name == "water":
                    level += rng.normal(0, 2.5)  # wind on the water surface
                sigma[mask] = 10 ** (level / 10.0)
            gamma0 = sar.sigma0_to_gamma0(sigma, incidence)
            out[pol] = (gamma0 * sar.speckle(sigma.shape, rng)).reshape(h, w).astype(np.float32)
        return out

    def enmap(self, when: pd.Timestamp, rng: np.random.Generator) -> tuple[np.ndarray, float]:
        """Render one EnMAP L2A acquisition at 30 m.

        Returns
        -------
        reflectance : numpy.ndarray
            ``(band, y/3, x/3)`` surface reflectance (224 bands).
        cloud_cover : float
            Percentage of cloudy pixels.
        """
        day = self._day(when)
        h, w = self.grid.shape
        zenith, azimuth = self._sun(when)
        lai, brown = self.canopy_state(day, rng)
        sky = clouds.simulate_sky(
            (h, w), rng.uniform(0.0, 0.06), zenith, azimuth, rng, cirrus_probability=0.1
        )
        spectra = self.spectra["enmap"]
        _, (h30, w30) = self.grid.at_resolution(30)
        coarse = np.empty((h30, w30, len(self.enmap_noise)), dtype=np.float32)
        block = max(1, 196_608 // (3 * w))  # ~200k pixels of 224 bands at a time
        for r0 in range(0, h30, block):
            r1 = min(r0 + block, h30)
            rows = slice(3 * r0, min(3 * r1, h))
            n = rows.stop - rows.start
            pixels = slice(rows.start * w, rows.stop * w)
            surface = self.surface("enmap", day, zenith, lai, brown, rng, pixels).reshape(n, w, -1)
            observed = clouds.apply_sky(
                surface,
                sky.rows(rows),
                spectra["cloud"],
                spectra["cirrus"],
                spectra["snow"],
                np.zeros((n, w)),
            )
            pad = ((0, 3 * (r1 - r0) - n), (0, 3 * w30 - w), (0, 0))
            observed = np.pad(observed, pad, mode="edge")
            coarse[r0:r1] = observed.reshape(r1 - r0, 3, w30, 3, -1).mean(axis=(1, 3))
        coarse += rng.normal(0, 1, coarse.shape) * self.enmap_noise
        pad2 = ((0, 3 * h30 - h), (0, 3 * w30 - w))
        cloudy = np.pad(sky.tau > 1.0, pad2, mode="edge").reshape(h30, 3, w30, 3).mean(axis=(1, 3))
        cover = round(100.0 * float((cloudy > 0.5).mean()), 2)
        return coarse.transpose(2, 0, 1).astype(np.float32), cover
