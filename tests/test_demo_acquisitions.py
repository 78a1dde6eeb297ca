import numpy as np
import pandas as pd

from cropkit.demo.acquisitions import enmap_calendar, s1_calendar, s2_calendar, sun_angles


def test_sentinel2_revisits_every_five_days_with_two_units():
    cal = s2_calendar(2023, phase=2, overlap=False)
    assert len(cal) == 73
    assert set(np.diff(cal["datetime"].to_numpy()).astype("timedelta64[D]").astype(int)) == {5}
    assert set(cal["platform"]) == {"sentinel-2a", "sentinel-2b"}
    assert not cal["swath_edge"].any()
    assert cal["datetime"].iloc[0] == pd.Timestamp("2023-01-03 10:56:29", tz="UTC")


def test_orbit_overlap_doubles_the_revisit_from_the_swath_edge():
    cal = s2_calendar(2023, phase=2, overlap=True)
    assert len(cal) == 145
    assert cal["swath_edge"].sum() == 72
    assert len(cal[~cal["swath_edge"]]) == len(s2_calendar(2023, phase=2, overlap=False))
    assert cal["datetime"].is_unique


def test_sentinel2c_replaces_2a_in_2025():
    cal = s2_calendar(2025, phase=0, overlap=False)
    early = cal[cal["datetime"] < "2025-01-21"]
    late = cal[cal["datetime"] > "2025-02-01"]
    assert "sentinel-2a" in set(early["platform"])
    assert set(late["platform"]) == {"sentinel-2b", "sentinel-2c"}


def test_sentinel1_repeat_depends_on_the_units_flying():
    one_unit = s1_calendar(2023, phase=0)  # S1B lost in December 2021
    two_units = s1_calendar(2019, phase=0)
    assert len(one_unit) == 61
    assert len(two_units) == 121  # every 6 days on each of two tracks
    assert set(one_unit["orbit_state"]) == {"ascending", "descending"}
    asc = one_unit[one_unit["orbit_state"] == "ascending"]["datetime"]
    assert set(np.diff(asc.to_numpy()).astype("timedelta64[D]").astype(int)) == {12}


def test_enmap_acquisitions_fall_in_the_season():
    cal = enmap_calendar(2023, np.random.default_rng(0), n=3)
    doy = cal["datetime"].dt.dayofyear
    assert len(cal) == 3 and doy.is_monotonic_increasing
    assert doy.min() > 120 and doy.max() < 200  # while winter cereals stand


def test_sun_is_higher_in_summer():
    zenith, azimuth = sun_angles(np.array([172, 355]), lat=48.4)
    assert zenith[0] == np.float64(zenith[0]) and 25 < zenith[0] < 35 < 70 < zenith[1] < 80
    assert np.all((azimuth > 120) & (azimuth < 180))  # morning: sun in the south-east
