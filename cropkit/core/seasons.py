"""Growing seasons: the dates a run covers, which may span New Year.

Winter crops are sown in autumn and harvested the next summer, so a season is a pair of
dates, not a calendar year. A run names its season with ``year`` and ``season``:

* ``"calendar"``: January to December of ``year`` (the source study's choice);
* ``"winter"``: 1 October of the year before to 30 September of ``year`` (sowing of
  winter cereals and rapeseed to their harvest);
* ``"summer"``: 1 March to 30 November of ``year`` (spring and summer crops);
* explicit dates, ``"2022-09-15/2023-08-31"``.

Compositing periods (months, half-months, 10-day dekads) are the calendar periods that
overlap the season, labelled by their first day.

Examples
--------
>>> s = season_for(2023, "winter")
>>> s.label, s.datetime
('2022-10-01_2023-09-30', '2022-10-01T00:00:00Z/2023-09-30T23:59:59Z')
>>> [d.strftime("%Y-%m") for d in s.period_starts("month")[[0, 3, -1]]]
['2022-10', '2023-01', '2023-09']
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from .errors import ConfigError

__all__ = ["Season", "NAMED_SEASONS", "PERIODS", "season_for"]

#: Named seasons: (month, day) of the start (in the year before when the flag is set)
#: and of the end.
NAMED_SEASONS = {
    "calendar": ((1, 1), (12, 31), False),
    "winter": ((10, 1), (9, 30), True),
    "summer": ((3, 1), (11, 30), False),
}

#: Compositing periods cropkit knows, and the first day of each within a month.
PERIODS = {"month": (1,), "half-month": (1, 16), "10-day": (1, 11, 21)}

#: Sentinel-2A's first L2A products; no season can start earlier.
FIRST_DAY = dt.date(2015, 7, 1)
#: The longest season accepted (days): 18 months.
MAX_DAYS = 549


@dataclass(frozen=True)
class Season:
    """A growing season: the first and last day a run covers.

    Attributes
    ----------
    start, end : datetime.date
        First and last day, both included.
    name : str
        ``"calendar"``, ``"winter"``, ``"summer"`` or ``"dates"``.
    """

    start: dt.date
    end: dt.date
    name: str = "dates"

    def __post_init__(self) -> None:
        days = (self.end - self.start).days + 1
        if days < 28:
            raise ConfigError(
                f"The season {self.start} to {self.end} is {days} days long; give at least a "
                "month (start before end, as 'YYYY-MM-DD/YYYY-MM-DD')."
            )
        if days > MAX_DAYS:
            raise ConfigError(
                f"The season {self.start} to {self.end} is {days} days long, more than 18 months: "
                "one run maps one growing season; split it into several runs."
            )
        if self.start < FIRST_DAY:
            raise ConfigError(
                f"The season starts on {self.start}, before the first Sentinel-2 L2A products "
                f"({FIRST_DAY}); choose a later year."
            )
        if self.start > dt.date.today():
            raise ConfigError(
                f"The season starts on {self.start}, in the future: no imagery exists yet. "
                "Choose a past or current season."
            )

    @property
    def label(self) -> str:
        """Short name for folders: the year for a calendar season, else the two dates."""
        if (
            self.start.month == 1
            and self.start.day == 1
            and self.end == dt.date(self.start.year, 12, 31)
        ):
            return str(self.start.year)
        return f"{self.start.isoformat()}_{self.end.isoformat()}"

    @property
    def year(self) -> int:
        """The year the season ends in (the harvest year, as the RPG dates its parcels)."""
        return self.end.year

    @property
    def datetime(self) -> str:
        """The season as a STAC datetime interval (UTC)."""
        return f"{self.start.isoformat()}T00:00:00Z/{self.end.isoformat()}T23:59:59Z"

    def contains(self, times) -> pd.Series:
        """Whether each of ``times`` falls within the season (bool per time)."""
        t = pd.DatetimeIndex(pd.to_datetime(times)).tz_localize(None).normalize()
        return pd.Series((t >= pd.Timestamp(self.start)) & (t <= pd.Timestamp(self.end)), index=t)

    def period_starts(self, period: str = "month") -> pd.DatetimeIndex:
        """First day of every compositing period that overlaps the season.

        Raises
        ------
        ConfigError
            For an unknown period name.
        """
        if period not in PERIODS:
            raise ConfigError(
                f"Unknown compositing period {period!r}; choose one of {list(PERIODS)}."
            )
        first_month = pd.Timestamp(self.start).replace(day=1)
        months = pd.date_range(first_month, pd.Timestamp(self.end), freq="MS")
        starts = [m + pd.Timedelta(days=d - 1) for m in months for d in PERIODS[period]]
        ends = starts[1:] + [months[-1] + pd.offsets.MonthBegin(1)]
        return pd.DatetimeIndex(
            [s for s, e in zip(starts, ends) if e > pd.Timestamp(self.start)], name="period"
        )

    def describe(self) -> str:
        """``"winter season: 2022-10-01 to 2023-09-30"``."""
        kind = "dates" if self.name == "dates" else f"{self.name} season"
        return f"{kind}: {self.start} to {self.end}"


def _date(text: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError as err:
        raise ConfigError(
            f"The season's {what} {text!r} is not a date such as 2023-09-30."
        ) from err


def season_for(year: int, season: str | Season | None = "calendar") -> Season:
    """The season of a run from its ``year`` and ``season`` parameters.

    Parameters
    ----------
    year : int
        The harvest year (ignored for explicit dates).
    season : str or Season, optional
        A name of :data:`NAMED_SEASONS` (default ``"calendar"``) or
        ``"YYYY-MM-DD/YYYY-MM-DD"``.

    Raises
    ------
    ConfigError
        For an unknown name, unreadable dates, a season shorter than a month or longer
        than 18 months, starting before Sentinel-2 or in the future.
    """
    if isinstance(season, Season):
        return season
    text = "calendar" if season is None else str(season).strip()
    if "/" in text:
        start, end = (_date(part, what) for part, what in zip(text.split("/", 1), ("start", "end")))
        return Season(start, end)
    if text not in NAMED_SEASONS:
        raise ConfigError(
            f"Unknown season {season!r}: use one of {sorted(NAMED_SEASONS)} or explicit dates "
            "'YYYY-MM-DD/YYYY-MM-DD' (e.g. '2022-09-15/2023-08-31')."
        )
    (m0, d0), (m1, d1), year_before = NAMED_SEASONS[text]
    return Season(dt.date(year - year_before, m0, d0), dt.date(year, m1, d1), text)
