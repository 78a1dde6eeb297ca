"""When the satellites pass: acquisition calendars and sun geometry.

* Sentinel-2: each unit revisits a place every 10 days; two units give 5 days, and
  where two relative orbits overlap a site is seen twice as often (one of them at the
  swath edge, with part of the scene outside the swath). S2A and S2B flew 2017-2024;
  S2C replaced S2A in 2025.
* Sentinel-1: a 12-day repeat per unit on an ascending and a descending track; 6 days
  with two units (S1A+S1B until December 2021, S1A+S1C from 2025).
* EnMAP: a tasked mission; a few clear acquisitions in the growing season.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["s2_calendar", "s1_calendar", "enmap_calendar", "sun_angles"]


def sun_angles(
    doy: np.ndarray, lat: float, local_hour: float = 10.5
) -> tuple[np.ndarray, np.ndarray]:
    """Solar zenith and azimuth (degrees) at a local solar time.

    Parameters
    ----------
    doy : numpy.ndarray
        ``(time,)`` day of year.
    lat : float
        Latitude (degrees north).
    local_hour : float
        Local solar time; Sentinel-2 crosses the equator at 10:30.

    Returns
    -------
    zenith, azimuth : numpy.ndarray
        ``(time,)`` angles in degrees (azimuth clockwise from north).
    """
    decl = np.radians(23.44) * np.sin(2 * np.pi * (284 + np.asarray(doy)) / 365.0)
    hour = np.radians(15.0 * (local_hour - 12.0))
    phi = np.radians(lat)
    cos_z = np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.cos(hour)
    zenith = np.arccos(np.clip(cos_z, -1, 1))
    cos_az = (np.sin(decl) - np.sin(phi) * cos_z) / (np.cos(phi) * np.sin(zenith))
    azimuth = np.degrees(np.arccos(np.clip(cos_az, -1, 1)))
    azimuth = np.where(hour > 0, 360 - azimuth, azimuth)
    return np.degrees(zenith), azimuth


@dataclass(frozen=True)
class _Unit:
    platform: str
    first: dt.date
    last: dt.date


_S2_UNITS = (
    _Unit("sentinel-2a", dt.date(2015, 6, 23), dt.date(2025, 1, 20)),
    _Unit("sentinel-2b", dt.date(2017, 3, 7), dt.date(2100, 1, 1)),
    _Unit("sentinel-2c", dt.date(2025, 1, 21), dt.date(2100, 1, 1)),
)
_S1_UNITS = (
    _Unit("sentinel-1a", dt.date(2014, 4, 3), dt.date(2100, 1, 1)),
    _Unit("sentinel-1b", dt.date(2016, 4, 25), dt.date(2021, 12, 23)),
    _Unit("sentinel-1c", dt.date(2025, 3, 26), dt.date(2100, 1, 1)),
)


def _active(units: tuple[_Unit, ...], day: dt.date) -> list[str]:
    return [u.platform for u in units if u.first <= day <= u.last]


def _days(offset: int, step: int, year: int, lead_days: int) -> list[int]:
    """Days from 1 January (negative: the year before) of a track repeating every ``step``."""
    before = range(offset - step * ((lead_days + offset) // step + 1), 0, step)
    return [*(d for d in before if d >= -lead_days), *range(offset, 366 + (year % 4 == 0), step)]


def s2_calendar(year: int, phase: int, overlap: bool, lead_days: int = 0) -> pd.DataFrame:
    """Sentinel-2 acquisitions of one site through one year (and the autumn before).

    Parameters
    ----------
    year : int
        Calendar year.
    phase : int
        Day offset of the site's orbit cycle (0-9), fixed per region.
    overlap : bool
        Whether a second relative orbit sees the site (from its swath edge).
    lead_days : int
        Also the last ``lead_days`` days of the year before, on the same orbit cycle.

    Returns
    -------
    pandas.DataFrame
        One row per acquisition: ``datetime`` (UTC), ``platform``,
        ``relative_orbit``, ``swath_edge`` (bool), sorted by time. The two orbits of
        an overlap never fall on the same day (their phases differ by 3 days).
    """
    rows = []
    start = dt.date(year, 1, 1)
    orbits = [(phase, 51 + phase, False)]
    if overlap:
        orbits.append(((phase + 3) % 10, 8 + phase, True))
    for offset, orbit, edge in orbits:
        for day in _days(offset, 5, year, lead_days):
            date = start + dt.timedelta(days=day)
            if date.year > year or day < -lead_days:
                continue
            units = _active(_S2_UNITS, date)
            # units alternate every 5 days on the same track
            platform = units[(day // 5) % len(units)] if units else None
            if platform is None:
                continue
            when = dt.datetime(date.year, date.month, date.day, 10, 56, 29, tzinfo=dt.timezone.utc)
            rows.append((when, platform, orbit, edge))
    frame = pd.DataFrame(rows, columns=["datetime", "platform", "relative_orbit", "swath_edge"])
    return frame.sort_values("datetime").reset_index(drop=True)


def s1_calendar(year: int, phase: int, lead_days: int = 0) -> pd.DataFrame:
    """Sentinel-1 IW acquisitions (ascending evening and descending morning passes).

    ``lead_days`` adds the last days of the year before, on the same cycle.

    Returns
    -------
    pandas.DataFrame
        ``datetime``, ``platform``, ``orbit_state``, ``relative_orbit``,
        ``incidence_deg``, sorted by time.
    """
    rows = []
    start = dt.date(year, 1, 1)
    tracks = [
        ("ascending", phase % 12, 17.75, 88, 34.0),
        ("descending", (phase + 5) % 12, 5.9, 37, 41.0),
    ]
    for state, offset, hour, orbit, incidence in tracks:
        for day in _days(offset, 6, year, lead_days):
            date = start + dt.timedelta(days=day)
            if date.year > year or day < -lead_days:
                continue
            units = _active(_S1_UNITS, date)
            cycle = (day // 6) % 2
            if len(units) < 2 and cycle == 1:
                continue  # one unit: 12-day repeat
            platform = units[cycle % len(units)]
            when = dt.datetime(
                date.year,
                date.month,
                date.day,
                int(hour),
                int(hour % 1 * 60),
                14,
                tzinfo=dt.timezone.utc,
            )
            rows.append((when, platform, state, orbit, incidence))
    frame = pd.DataFrame(
        rows, columns=["datetime", "platform", "orbit_state", "relative_orbit", "incidence_deg"]
    )
    return frame.sort_values("datetime").reset_index(drop=True)


def enmap_calendar(year: int, rng: np.random.Generator, n: int = 3) -> pd.DataFrame:
    """A few EnMAP acquisitions tasked over the peak of the season (May to mid-July).

    Crop campaigns task EnMAP while the crops stand: winter cereals are harvested in
    July, and a September scene could not tell wheat from wheat.

    Returns
    -------
    pandas.DataFrame
        ``datetime`` and ``platform`` of each acquisition.
    """
    edges = np.linspace(120, 200, n + 1)
    days = [int(rng.uniform(a + 5, b - 5)) for a, b in zip(edges[:-1], edges[1:])]
    when = [
        dt.datetime(year, 1, 1, 10, 48, 3, tzinfo=dt.timezone.utc) + dt.timedelta(days=d - 1)
        for d in days
    ]
    return pd.DataFrame({"datetime": when, "platform": "enmap"})
