"""Seasonal canopy trajectories: leaf area index and senescence through the year.

Each crop of ``data/crops.csv`` follows a *pattern* (winter crop, spring or summer
crop, mown grassland, perennial vine or orchard, fallow) driven by its calendar:
sowing, green-up, senescence and harvest days of year. Every parcel draws its own
calendar shifts and vigour, and after harvest it is either left as stubble and then
tilled, sown with a catch crop, or sown with next season's winter crop.

The outputs drive both the optical model (LAI and brown-pigment fraction feed
PROSAIL) and the radar model (LAI is the vegetation descriptor of the water-cloud
model).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from ..core.errors import DataError
from ..core.paths import data_file

__all__ = [
    "Trajectories",
    "crop_parameters",
    "land_cover_parameters",
    "parcel_trajectories",
    "deciduous_trajectory",
]


@lru_cache(maxsize=2)
def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(data_file(name))


def crop_parameters() -> pd.DataFrame:
    """Phenology, leaf-trait and radar parameters per tier-4 crop (``data/crops.csv``)."""
    return _read("crops.csv").set_index("tier4")


def land_cover_parameters() -> pd.DataFrame:
    """Parameters of non-crop land cover (``data/landcover.csv``)."""
    return _read("landcover.csv").set_index("land_cover")


@dataclass
class Trajectories:
    """Canopy state of each parcel on each date.

    All arrays have dims ``(parcel, time)``.

    Attributes
    ----------
    lai : numpy.ndarray
        Leaf area index of the main canopy (m² m⁻²), green and senescent leaves.
    brown : numpy.ndarray
        Senescence state (0 green ... ~2 straw): the brown axis of the PROSAIL
        lookup table, which lowers chlorophyll and water and adds brown pigments
        (see :func:`cropkit.demo.spectra.build_lut`).
    flower : numpy.ndarray
        Fraction of the canopy top covered by yellow flowers (rapeseed, sunflower).
    under_lai, under_brown : numpy.ndarray
        Inter-row cover of perennial crops (grass or bare soil).
    tilled : numpy.ndarray
        ``True`` where the soil is freshly worked (rough, for radar).
    stressed : numpy.ndarray
        ``(parcel,)`` ``True`` for parcels hit by stress (weaker canopy, early ripening).
    """

    lai: np.ndarray
    brown: np.ndarray
    flower: np.ndarray
    under_lai: np.ndarray
    under_brown: np.ndarray
    tilled: np.ndarray
    stressed: np.ndarray | None = None


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


def _col(params: pd.DataFrame, name: str, crops: np.ndarray) -> np.ndarray:
    return params.loc[crops, name].to_numpy(dtype=float)[:, None]


#: Spread of the farmer's calendar between parcels (days, standard deviation).
CALENDAR_SD_DAYS = 10.0
#: Spread of the season between zones: microclimate, soils, the sowing weather (days).
ZONE_SD_DAYS = 6.0
#: Spread of canopy vigour between parcels (log-normal sigma): soil and management.
VIGOUR_SD = 0.22
#: Share of annual-crop parcels hit by stress (drought, disease, late sowing).
STRESSED_SHARE = 0.2


def parcel_trajectories(
    tier4: np.ndarray,
    doy: np.ndarray,
    rng: np.random.Generator,
    summer_dryness: float = 0.3,
    zone: np.ndarray | None = None,
) -> Trajectories:
    """Simulate the canopy of every parcel through one year.

    Parameters
    ----------
    tier4 : numpy.ndarray
        ``(parcel,)`` tier-4 crop name of each parcel.
    doy : numpy.ndarray
        ``(time,)`` day of year of each date (fractional days allowed).
    rng : numpy.random.Generator
        Draws the parcel-to-parcel variation.
    summer_dryness : float
        0 (wet summer) to 1 (Mediterranean drought): browns grassland and fallow in
        July-August.
    zone : numpy.ndarray, optional
        ``(parcel,)`` zone index of each parcel: every zone gets its own season offset
        and vigour, so a held-out zone differs from the training zones as a neighbouring
        district does.

    Returns
    -------
    Trajectories
        Arrays of dims ``(parcel, time)``.
    """
    params = crop_parameters()
    crops = np.asarray(tier4)
    missing = sorted(set(crops) - set(params.index))
    if missing:
        raise DataError(
            f"Crops {missing} have no phenology in data/crops.csv; add a row for each "
            "(the tier4 column must match the taxonomy's tier4 names)."
        )
    n = len(crops)
    t = np.asarray(doy, dtype=float)[None, :]
    autumn = t < 1  # days of the year before (a season that starts in autumn)
    tc = np.where(autumn, t + 365, t)  # grass, fallow and perennials follow the calendar
    pattern = params.loc[crops, "pattern"].to_numpy()[:, None]

    zone = np.zeros(n, dtype=int) if zone is None else np.asarray(zone, dtype=int)
    n_zones = int(zone.max()) + 1 if n else 1
    zone_shift = rng.normal(0.0, ZONE_SD_DAYS, n_zones)[zone][:, None]
    zone_vigour = rng.normal(0.0, 0.08, n_zones)[zone][:, None]
    # the farmer's calendar; perennials and grass follow the weather more than the farmer
    calendar = rng.normal(0.0, CALENDAR_SD_DAYS, (n, 1))
    calendar = np.where(np.isin(pattern, ["perennial", "grass"]), 0.5 * calendar, calendar)
    shift = calendar + zone_shift
    vigour = np.exp(rng.normal(0.0, VIGOUR_SD, (n, 1)) + zone_vigour)  # soil and management
    # stress (drought, disease, late sowing): a weaker canopy that ripens early
    stressed = (rng.random((n, 1)) < STRESSED_SHARE) & np.isin(
        pattern, ["winter", "spring", "summer"]
    )
    vigour = np.where(stressed, 0.7 * vigour, vigour)
    early = np.where(stressed, rng.uniform(5, 20, (n, 1)), 0.0)
    green_up = _col(params, "green_up_doy", crops) + shift
    senescence = _col(params, "senescence_doy", crops) + shift + rng.normal(0, 5, (n, 1)) - early
    harvest = _col(params, "harvest_doy", crops) + shift + rng.normal(0, 6, (n, 1)) - early / 2
    k_up = _col(params, "k_up", crops) * np.exp(rng.normal(0, 0.1, (n, 1)))
    k_down = _col(params, "k_down", crops) * np.exp(rng.normal(0, 0.1, (n, 1)))
    lai_max = _col(params, "lai_max", crops) * vigour
    lai_winter = _col(params, "lai_winter", crops) * np.exp(rng.normal(0, 0.25, (n, 1)))
    brown_max = _col(params, "brown_max", crops)

    lai = np.zeros((n, t.shape[1]))
    brown = np.zeros_like(lai)
    tilled = np.zeros(lai.shape, dtype=bool)

    # --- annual crops: winter, spring, summer -------------------------------------------
    annual = np.isin(pattern, ["winter", "spring", "summer"])
    rise = _sigmoid(k_up * (t - green_up))
    decline = _sigmoid(1.5 * k_down * (t - senescence))
    start = np.where(pattern == "winter", lai_winter, 0.0)
    canopy = start + (lai_max - start) * rise
    canopy = canopy * (1.0 - 0.5 * decline)
    before_harvest = t < harvest
    lai = np.where(annual & before_harvest, canopy, lai)
    brown = np.where(annual & before_harvest, brown_max * decline, brown)

    # spring and summer crops: last season's cover until it is ploughed in spring
    sowing = _col(params, "sow_doy", crops) + shift
    ploughed = sowing - rng.uniform(5, 30, (n, 1))
    catch_last_year = rng.random((n, 1)) < 0.35
    residue = np.where(catch_last_year, 1.2 * np.exp(-t / 60.0), 0.0)
    early = annual & (pattern != "winter") & (t < ploughed)
    lai = np.where(early, np.maximum(lai, residue), lai)
    brown = np.where(early & catch_last_year, 0.4, brown)
    tilled |= annual & (pattern != "winter") & (t >= ploughed) & (t < sowing + 10)

    # after harvest: stubble, then tillage, then bare soil, a catch crop or a winter crop
    tillage = harvest + rng.uniform(8, 40, (n, 1))
    stubble = annual & (t >= harvest) & (t < tillage)
    lai = np.where(stubble, 0.5 * vigour, lai)
    brown = np.where(stubble, 1.8, brown)
    regime = rng.choice(3, size=(n, 1), p=[0.45, 0.25, 0.30])  # bare, catch crop, winter sown
    after = annual & (t >= tillage)
    tilled |= after & (t < tillage + 20)
    catch = (1.8 * vigour) * _sigmoid(0.08 * (t - (tillage + 35)))
    sown = np.maximum(tillage, 275 + rng.normal(0, 10, (n, 1)))
    winter_sown = 0.7 * vigour * _sigmoid(0.06 * (t - (sown + 40)))
    post = np.select([regime == 1, regime == 2], [catch, winter_sown], 0.0)
    lai = np.where(after, post, lai)
    brown = np.where(after, 0.1, brown)

    # --- the autumn before: winter crops sown and emerging, others in stubble or catch crop
    sown_prev = sowing - 365
    winter_autumn = annual & autumn & (pattern == "winter")
    emerged = lai_winter * _sigmoid(0.06 * (t - (sown_prev + 40)))
    before_sowing = t < sown_prev - 15
    lai = np.where(winter_autumn, np.where(before_sowing, 0.2 * vigour, emerged), lai)
    brown = np.where(winter_autumn, np.where(before_sowing, 1.2, 0.1), brown)
    tilled = np.where(winter_autumn, ~before_sowing & (t < sown_prev + 10), tilled)
    other_autumn = annual & autumn & (pattern != "winter")
    cover_crop = 1.2 * _sigmoid(0.08 * (t + 95))  # sown in late August, ploughed in spring
    stubble_prev = t < -100
    lai = np.where(
        other_autumn,
        np.where(catch_last_year, cover_crop, np.where(stubble_prev, 0.3 * vigour, 0.05)),
        lai,
    )
    brown = np.where(other_autumn, np.where(stubble_prev, 1.5, 0.3), brown)
    tilled = np.where(other_autumn, ~catch_last_year & ~stubble_prev & (t < -80), tilled)

    # --- mown grassland ------------------------------------------------------------------
    grass = pattern == "grass"
    potential = lai_winter + (lai_max - lai_winter) * (
        _sigmoid(k_up * (tc - green_up)) - _sigmoid(0.05 * (tc - 300))
    )
    potential = np.maximum(potential, lai_winter)
    grass_lai = potential.copy()
    grass_brown = np.zeros_like(potential)
    for i, cuts in enumerate(params.loc[crops, "cut_doys"].to_numpy()):
        if not grass[i, 0] or not isinstance(cuts, str):
            continue
        for cut in (float(c) + rng.normal(0, 7) for c in cuts.split(";")):
            if rng.random() < 0.12:  # a cut that this farmer skipped (grazing instead)
                continue
            after_cut = tc[0] >= cut
            regrow = 0.3 + (potential[i] - 0.3) * (1 - np.exp(-(tc[0] - cut) / 22.0))
            grass_lai[i] = np.where(after_cut, np.minimum(grass_lai[i], regrow), grass_lai[i])
            grass_brown[i] = np.maximum(
                grass_brown[i], np.where(after_cut, 1.2 * np.exp(-(tc[0] - cut) / 4.0), 0.0)
            )
    drought = summer_dryness * np.exp(-(((tc - 215) / 28.0) ** 2))
    lai = np.where(grass, grass_lai * (1 - 0.6 * drought), lai)
    brown = np.where(grass, np.maximum(grass_brown, brown_max * drought), brown)

    # --- fallow: unmanaged grass and weeds, dry in summer --------------------------------
    fallow = pattern == "fallow"
    fallow_lai = lai_winter + (lai_max - lai_winter) * (
        _sigmoid(k_up * (tc - green_up)) - 0.6 * _sigmoid(k_down * (tc - senescence))
    )
    lai = np.where(fallow, fallow_lai, lai)
    brown = np.where(
        fallow, brown_max * _sigmoid(k_down * (tc - senescence)) * (0.4 + drought), brown
    )

    # --- perennials: vines, orchards, lavender -------------------------------------------
    perennial = pattern == "perennial"
    leaf_fall = harvest  # for deciduous perennials the 'harvest' column is leaf fall
    is_lavender = crops[:, None] == "lavender"
    deciduous = lai_max * (_sigmoid(k_up * (tc - green_up)) - _sigmoid(0.12 * (tc - leaf_fall)))
    lavender = np.where(
        tc < harvest,
        lai_winter + (lai_max - lai_winter) * _sigmoid(k_up * (tc - green_up)),
        lai_winter,
    )
    lai = np.where(perennial, np.where(is_lavender, lavender, np.maximum(deciduous, 0.0)), lai)
    brown = np.where(perennial, brown_max * _sigmoid(k_down * (tc - senescence)), brown)
    grassed = rng.random((n, 1)) < np.where(crops[:, None] == "fruit_orchard", 0.9, 0.45)
    under_lai = np.where(perennial & grassed, 1.0 + 0.5 * np.sin(2 * np.pi * (tc - 30) / 365), 0.0)
    under_brown = np.where(perennial & grassed, 1.2 * drought, 0.0)
    tilled |= perennial & ~grassed & (np.abs(tc - 100) < 10)

    # --- flowers -------------------------------------------------------------------------
    f_start = _col(params, "flower_start", crops) + shift
    f_end = _col(params, "flower_end", crops) + shift
    peak = np.where(crops[:, None] == "winter_rapeseed", 0.55, 0.3)
    flower = np.where(
        np.isfinite(f_start),
        peak * _sigmoid(0.4 * (t - f_start)) * (1 - _sigmoid(0.4 * (t - f_end))),
        0.0,
    )
    return Trajectories(
        lai=np.clip(lai, 0.0, 8.0),
        brown=np.clip(brown, 0.0, 2.0),
        flower=flower,
        under_lai=under_lai,
        under_brown=under_brown,
        tilled=tilled,
        stressed=stressed[:, 0],
    )


def deciduous_trajectory(land_cover: str, doy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LAI and brown pigment of a deciduous woodland class, dims ``(time,)``."""
    p = land_cover_parameters().loc[land_cover]
    t = np.asarray(doy, dtype=float)
    lai = p.lai_winter + (p.lai_max - p.lai_winter) * (
        _sigmoid(p.k_up * (t - p.green_up_doy)) - _sigmoid(p.k_down * (t - p.senescence_doy))
    )
    brown = p.brown_max * np.exp(-(((t - p.senescence_doy) / 20.0) ** 2))
    return lai, brown
