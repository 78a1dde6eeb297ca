"""Sentinel-1 C-band backscatter from a water-cloud model over a rain-driven soil.

For a canopy of leaf area index ``V`` seen at incidence ``θ``:

    σ⁰ = A·cosθ·(1 − τ²) + τ²·σ⁰_soil,    τ² = exp(−2·B·V / cosθ)

(the common form with V₁ = 1 and V₂ = V), with crop-specific ``A`` (the backscatter
of a dense canopy) and ``B`` (attenuation per unit LAI) per polarisation
(``data/crops.csv``). Bare-soil
backscatter rises with surface soil moisture and with the roughness of fresh tillage;
soil moisture follows a daily bucket model driven by random rain events drawn from the
region's monthly rain-day climatology. The model gives σ⁰; RTC products publish
γ⁰ = σ⁰ / cos θ (:func:`sigma0_to_gamma0`), with multiplicative speckle following a
Gamma law of the number of looks of a 10 m product. Values are linear γ⁰, as in
Planetary Computer's ``sentinel-1-rtc``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "soil_moisture_series",
    "soil_backscatter_db",
    "water_cloud",
    "sigma0_to_gamma0",
    "speckle",
]

#: Equivalent number of looks of a 10 m RTC product.
ENL = 4.4


def soil_moisture_series(
    year_days: int,
    rain_days_per_month: list[float],
    rng: np.random.Generator,
    lead_days: int = 0,
) -> np.ndarray:
    """Daily surface soil moisture (m³ m⁻³) through a year (and the autumn before).

    Parameters
    ----------
    year_days : int
        365 or 366.
    rain_days_per_month : list of float
        Mean number of rain days in each month, January first.
    rng : numpy.random.Generator
        Draws the rain events.
    lead_days : int
        Days simulated before 1 January (the autumn of the year before).

    Returns
    -------
    numpy.ndarray
        ``(day,)`` volumetric moisture between 0.05 and 0.42, ``lead_days + year_days``
        days from the first simulated one.
    """
    n = year_days + lead_days
    day_of_year = (np.arange(n) - lead_days) % year_days  # 0-based, last autumn included
    month = np.minimum((day_of_year / (year_days / 12)).astype(int), 11)
    p_rain = np.asarray(rain_days_per_month, dtype=float)[month] / 30.0
    rain = (rng.random(n) < p_rain) * rng.exponential(6.0, n)  # mm
    # drying is fast in summer, slow in winter
    drying = 0.04 + 0.08 * np.sin(np.pi * day_of_year / year_days) ** 2
    mv = np.empty(n)
    level = 0.3
    for d in range(n):
        level = min(level + 0.012 * rain[d], 0.42)  # a saturated soil drains the excess
        level = 0.05 + (level - 0.05) * (1 - drying[d])
        mv[d] = level
    return mv


def soil_backscatter_db(moisture: np.ndarray, roughness_db: np.ndarray, pol: str) -> np.ndarray:
    """Bare-soil σ⁰ in dB from moisture and a roughness offset."""
    base = -19.0 + 25.0 * moisture + roughness_db
    return base if pol == "vv" else base - 7.5


def water_cloud(
    lai: np.ndarray,
    soil_db: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    incidence_deg: float,
) -> np.ndarray:
    """Linear σ⁰ of a vegetated surface (water-cloud model; arrays broadcast)."""
    cos_t = np.cos(np.radians(incidence_deg))
    tau2 = np.exp(-2.0 * b * lai / cos_t)
    return a * cos_t * (1 - tau2) + tau2 * 10 ** (soil_db / 10.0)


def sigma0_to_gamma0(sigma0: np.ndarray, incidence_deg: float) -> np.ndarray:
    """Normalise σ⁰ to γ⁰ (``γ⁰ = σ⁰ / cos θ``), the convention of RTC products."""
    return sigma0 / np.cos(np.radians(incidence_deg))


def speckle(shape: tuple[int, ...], rng: np.random.Generator, looks: float = ENL) -> np.ndarray:
    """Multiplicative speckle: Gamma-distributed with mean 1 and ``looks`` looks."""
    return rng.gamma(looks, 1.0 / looks, size=shape)
