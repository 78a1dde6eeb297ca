import datetime as dt

import pandas as pd
import pytest

from cropkit.core.errors import ConfigError
from cropkit.core.seasons import Season, season_for


def test_named_seasons():
    cal, winter, summer = (season_for(2023, n) for n in ("calendar", "winter", "summer"))
    assert (cal.start, cal.end, cal.label) == (dt.date(2023, 1, 1), dt.date(2023, 12, 31), "2023")
    assert (winter.start, winter.end) == (dt.date(2022, 10, 1), dt.date(2023, 9, 30))
    assert winter.year == 2023 and winter.label == "2022-10-01_2023-09-30"
    assert (summer.start, summer.end) == (dt.date(2023, 3, 1), dt.date(2023, 11, 30))
    assert season_for(2023, None) == cal
    assert season_for(2023, "2022-09-15/2023-08-31") == Season(
        dt.date(2022, 9, 15), dt.date(2023, 8, 31)
    )


def test_periods_across_new_year_are_labelled_by_their_dates():
    winter = season_for(2023, "winter")
    months = winter.period_starts("month")
    assert len(months) == 12
    assert [d.strftime("%Y-%m-%d") for d in months[[0, 2, 3, 11]]] == [
        "2022-10-01",
        "2022-12-01",
        "2023-01-01",
        "2023-09-01",
    ]
    assert len(winter.period_starts("10-day")) == 36
    # a season starting mid-month keeps the period it starts in, and no earlier one
    mid = season_for(2023, "2022-09-20/2023-03-31").period_starts("half-month")
    assert mid[0] == pd.Timestamp("2022-09-16") and mid[-1] == pd.Timestamp("2023-03-16")
    with pytest.raises(ConfigError, match="Unknown compositing period 'week'"):
        winter.period_starts("week")


def test_contains_and_stac_interval():
    winter = season_for(2023, "winter")
    inside = winter.contains(["2022-09-30T10:00", "2022-10-01T10:00", "2023-09-30T23:00"])
    assert inside.tolist() == [False, True, True]
    assert winter.datetime == "2022-10-01T00:00:00Z/2023-09-30T23:59:59Z"


@pytest.mark.parametrize(
    ("season", "message"),
    [
        ("2023-05-01/2023-05-10", "at least a month"),
        ("2023-06-01/2022-06-01", "at least a month"),
        ("2014-01-01/2014-12-31", "before the first Sentinel-2"),
        ("2022-01-01/2023-12-31", "more than 18 months"),
        ("autumn", "Unknown season 'autumn'"),
    ],
)
def test_bad_seasons(season, message):
    with pytest.raises(ConfigError, match=message):
        season_for(2023, season)


def test_a_future_season_is_refused():
    next_year = dt.date.today().year + 1
    with pytest.raises(ConfigError, match="in the future"):
        season_for(next_year, "calendar")
