"""A winter season on the demo: the autumn before is simulated, and composited in order."""

import numpy as np
import pandas as pd
import pystac
import pytest

from cropkit import cloudmask, composite, gapfill, load, profiles
from cropkit.access.providers import PROVIDERS
from cropkit.access.static_catalog import read_static_catalog
from cropkit.core.regions import get_region
from cropkit.core.seasons import season_for


@pytest.fixture(scope="module")
def winter_demo(private_cache):
    from cropkit.demo import build_demo

    return build_demo("chartres", 2023, zone_px=64, enmap_scenes=1, lead_days=92)


def test_the_demo_simulates_the_autumn_before(winter_demo, tiny_demo):
    assert winter_demo.spec.first_day.isoformat() == "2022-10-01"
    assert winter_demo.root != tiny_demo.root  # its own cache entry
    items = {c["id"]: its for c, its in read_static_catalog(winter_demo.catalog_path)}
    calendar = {c["id"]: its for c, its in read_static_catalog(tiny_demo.catalog_path)}
    for cid in ("sentinel-2-c1-l2a", "sentinel-1-rtc"):
        dates = sorted(it["properties"]["datetime"] for it in items[cid])
        assert dates[0][:7] == "2022-10"
        # the calendar year is acquired exactly as in a calendar-year demo
        same_year = [d for d in dates if d >= "2023"]
        assert same_year == sorted(it["properties"]["datetime"] for it in calendar[cid])


def test_a_winter_season_composites_from_october_with_sowing_in_view(winter_demo):
    season = season_for(2023, "winter")
    grid = get_region("chartres").grid(64, (2, 1))
    demo = PROVIDERS["demo"]
    items = {c["id"]: its for c, its in read_static_catalog(winter_demo.catalog_path)}
    s2 = [pystac.Item.from_dict(d) for d in items["sentinel-2-c1-l2a"]]
    reflectance = load.load_s2(s2, demo, grid)
    clear = cloudmask.clear_mask(load.load_scl(s2, demo, grid))
    masked = cloudmask.apply_mask(reflectance, clear)
    with pytest.warns(composite.OutsideSeasonWarning, match="observations fall outside"):
        medians = composite.period_median(masked, "month", season)  # Oct-Dec 2023 left out
    ds = gapfill.fill_gaps(medians, "median").assign_attrs(crs=reflectance.attrs["crs"])
    periods = pd.DatetimeIndex(ds["period"].values)
    assert periods[0] == pd.Timestamp("2022-10-01") and len(periods) == 12
    assert (ds["count"].sel(period=slice("2022-10-01", "2022-12-01")).sum(("y", "x")) > 0).all()
    # winter wheat: bare in October, green by December, then its spring peak
    parcels = winter_demo.parcels()
    wheat = parcels[parcels["CODE_CULTU"] == "BTH"]
    raster = profiles.parcel_raster(wheat, ds)
    ndvi = profiles.ndvi(ds["median"]).where(raster > 0).median(("y", "x")).values
    assert ndvi[0] < ndvi[2] < ndvi[7]  # Oct < Dec < May
    assert np.isfinite(ndvi).all()
