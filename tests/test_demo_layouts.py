"""The demo's Sentinel-2 in each provider's layout: the same reflectance by three paths."""

import numpy as np
import pystac
import pytest

from cropkit import load
from cropkit.access.providers import DEMO_EARTH_SEARCH_L2A, get_provider, reflectance_scale_offset
from cropkit.access.reflectance_check import SuspectReflectanceWarning, check_reflectance
from cropkit.access.static_catalog import read_static_catalog
from cropkit.config import RunConfig
from cropkit.core.errors import ConfigError
from cropkit.core.regions import get_region


def _s2_items(catalog_path, collection_id, dates=None):
    """The Sentinel-2 items of a catalog, by date (``YYYYMMDD``), optionally some dates."""
    (items,) = [its for c, its in read_static_catalog(catalog_path) if c["id"] == collection_id]
    items = {d["properties"]["datetime"][:10].replace("-", ""): d for d in items}
    return {k: pystac.Item.from_dict(v) for k, v in items.items() if not dates or k in dates}


@pytest.fixture(scope="module")
def grid():
    return get_region("chartres").grid(64, (2, 1))  # the tiny demo's grid


def _c1(tiny_demo, grid, dates):
    items = list(_s2_items(tiny_demo.catalog_path, "sentinel-2-c1-l2a", dates).values())
    provider = get_provider("demo")
    return load.load_s2(items, provider, grid).values, load.load_scl(items, provider, grid).values


def test_a_provider_parameter_picks_the_layout():
    pc = get_provider("demo:planetary-computer")
    assert pc.is_demo and pc.demo_layout == "planetary-computer"
    assert pc.collections["s2"] == "sentinel-2-l2a" and pc.asset_key("s2", "B04") == "B04"
    assert pc.offset_from == "baseline" and not pc.signed
    old = get_provider("demo:earth-search-l2a")
    assert old.collections["s2"] == DEMO_EARTH_SEARCH_L2A
    assert old.offset_from == "boa_offset_applied" and old.asset_key("s2", "B04") == "red"
    assert get_provider("demo").collections["s2"] == "sentinel-2-c1-l2a"
    assert RunConfig(stac="demo:planetary-computer").run_dir.name == (
        "chartres-2023-demo-planetary-computer-ci"
    )
    with pytest.raises(ConfigError, match="no 'usgs' layout; choose stac='demo' or one of"):
        get_provider("demo:usgs")


def test_the_demo_as_a_provider_offers_it():
    """``demo`` has every simulated sensor; ``demo:<provider>`` only what that provider has."""
    assert sorted(get_provider("demo").collections) == ["enmap", "s1", "s2"]
    es = get_provider("demo:earth-search")
    assert es.collections == {"s2": "sentinel-2-c1-l2a"} and es.name == "demo-earth-search"
    assert get_provider("demo:earth-search-l2a").collections == {"s2": DEMO_EARTH_SEARCH_L2A}
    assert sorted(get_provider("demo:planetary-computer").collections) == ["s1", "s2"]
    assert RunConfig(stac="demo:earth-search").run_dir.name == "chartres-2023-demo-earth-search-ci"


def test_planetary_computer_layout_gives_the_same_reflectance(tiny_demo, grid):
    items = _s2_items(tiny_demo.layout_catalog("planetary-computer"), "sentinel-2-l2a")
    provider = get_provider("demo:planetary-computer")
    assert len(items) == 144
    first = items["20230107"]
    assert first.id.startswith("S2B_MSIL2A_20230107T105629_R")
    assert sorted(first.assets) == sorted([*provider.assets["s2"].values(), "cloud_truth"])
    assert "raster:bands" not in first.assets["B04"].extra_fields  # scale from the baseline
    assert reflectance_scale_offset(first, "B04", provider) == (1e-4, -0.1)
    some = sorted(items)[::12]  # twelve dates through the year
    cube = load.load_s2([items[d] for d in some], provider, grid).values
    scl = load.load_scl([items[d] for d in some], provider, grid).values
    c1_cube, c1_scl = _c1(tiny_demo, grid, some)
    np.testing.assert_array_equal(cube, c1_cube)
    np.testing.assert_array_equal(scl, c1_scl)


def test_older_earth_search_layout_with_a_wrong_flag_is_caught(tiny_demo, grid):
    items = _s2_items(tiny_demo.layout_catalog("earth-search-l2a"), DEMO_EARTH_SEARCH_L2A)
    provider = get_provider("demo:earth-search-l2a")
    flags = {d: it.properties["earthsearch:boa_offset_applied"] for d, it in items.items()}
    reprocessed = {d for d in flags if d >= "20230701"}
    assert len(reprocessed) == 74 and sum(flags.values()) == 73
    assert not any(flags[d] for d in set(flags) - reprocessed)
    (wrong,) = reprocessed - {d for d in flags if flags[d]}
    some = sorted({*sorted(items)[::12], wrong})  # before and after the reprocessing
    cube = load.load_s2([items[d] for d in some], provider, grid)
    scl = load.load_scl([items[d] for d in some], provider, grid)
    with pytest.warns(SuspectReflectanceWarning, match="mostly negative") as caught:
        table = check_reflectance(cube, scl)
    assert items[wrong].id in str(caught[0].message)
    assert table.loc[items[wrong].id, "verdict"] == "too dark"
    assert set(table["verdict"]) - {"too dark"} <= {"ok", "not judged"}
    # every other date reads as Collection 1 does (the flag honoured), to clipping
    diff = np.nanmedian(cube.values - _c1(tiny_demo, grid, some)[0], axis=(1, 2, 3))
    at = some.index(wrong)
    assert diff[at] == pytest.approx(-0.1, abs=0.005)
    assert np.abs(np.delete(diff, at)).max() < 1e-6


@pytest.mark.server
def test_each_layout_takes_its_providers_path_through_the_api(stac_server, tiny_demo, grid):
    from cropkit.access.stac import StacSource, open_api
    from cropkit.stages.masking import masked_s2

    found = {}
    for layout in ("earth-search", "planetary-computer", "earth-search-l2a"):
        stac_server.add_catalog(tiny_demo.layout_catalog(layout))
        provider = get_provider(f"demo:{layout}")
        source = StacSource(stac_server.url, provider, open_api(stac_server.url, provider))
        items = source.search("s2", grid.lonlat_bounds(), datetime="2023-07-10/2023-07-18")
        if layout == "earth-search-l2a":  # the data check runs for the flagged layout
            with pytest.warns(SuspectReflectanceWarning, match="S2A_31UCP_20230714_0_L2A"):
                s2 = masked_s2(source, items, grid)
        else:
            s2 = masked_s2(source, items, grid)
        found[layout] = (
            [it.datetime.date() for it in s2.items],
            float(np.nanmedian(s2.masked.sel(band="B04").values)),
        )
    assert found["planetary-computer"] == found["earth-search"]
    dates, red = found["earth-search-l2a"]
    assert dates == found["earth-search"][0] and len(dates) == 3
    assert red < found["earth-search"][1]  # 14 July is 0.1 too dark
