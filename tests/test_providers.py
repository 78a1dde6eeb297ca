import json
from pathlib import Path

import pystac
import pytest

from cropkit.access.providers import (
    PROVIDERS,
    S2_BAND_NAMES,
    get_provider,
    reflectance_scale_offset,
)
from cropkit.core.errors import ConfigError

FIXTURES = Path(__file__).parent / "fixtures"


def load(name):
    return json.loads((FIXTURES / name).read_text())


@pytest.mark.parametrize(
    ("provider", "fixture", "expected"),
    [
        ("earth-search", "earth_search_s2_c1_l2a_baseline0509.json", (1e-4, -0.1)),
        ("earth-search", "earth_search_s2_l2a_baseline0300.json", (1e-4, 0.0)),
        ("earth-search-l2a", "earth_search_s2_l2a_baseline0509.json", (1e-4, -0.1)),
        ("earth-search-l2a", "earth_search_s2_l2a_baseline0300.json", (1e-4, 0.0)),
        ("planetary-computer", "planetary_computer_s2_l2a_baseline0509.json", (1e-4, -0.1)),
        ("planetary-computer", "planetary_computer_s2_l2a_baseline0300.json", (1e-4, 0.0)),
    ],
)
def test_scale_and_offset_per_provider(provider, fixture, expected):
    item = load(fixture)
    p = get_provider(provider)
    for band in S2_BAND_NAMES:
        assert reflectance_scale_offset(item, band, p) == pytest.approx(expected)


def test_earth_search_defaults_to_collection_1_and_the_old_collection_honours_its_flag():
    assert get_provider("earth-search").collection("s2") == "sentinel-2-c1-l2a"
    old = get_provider("earth-search-l2a")
    assert old.collection("s2") == "sentinel-2-l2a"
    item = load("earth_search_s2_l2a_baseline0509.json")
    item["properties"]["earthsearch:boa_offset_applied"] = True
    assert reflectance_scale_offset(item, "B04", old) == pytest.approx((1e-4, 0.0))
    # the flag means nothing to Collection 1, whose raster:bands are right
    assert reflectance_scale_offset(item, "B04", get_provider("earth-search")) == pytest.approx(
        (1e-4, -0.1)
    )


def test_pystac_items_work_too():
    item = pystac.Item.from_dict(load("planetary_computer_s2_l2a_baseline0509.json"))
    assert reflectance_scale_offset(
        item, "B04", get_provider("planetary-computer")
    ) == pytest.approx((1e-4, -0.1))


def test_dn_to_reflectance_agrees_across_providers():
    """The same DN means the same reflectance once each provider's convention is applied."""
    dn = 2500
    es = reflectance_scale_offset(
        load("earth_search_s2_l2a_baseline0509.json"), "B08", PROVIDERS["earth-search"]
    )
    pc = reflectance_scale_offset(
        load("planetary_computer_s2_l2a_baseline0509.json"), "B08", PROVIDERS["planetary-computer"]
    )
    assert dn * es[0] + es[1] == pytest.approx(dn * pc[0] + pc[1]) == pytest.approx(0.15)


def test_asset_names_per_provider():
    es, pc = PROVIDERS["earth-search"], PROVIDERS["planetary-computer"]
    assert es.asset_key("s2", "B04") == "red" and pc.asset_key("s2", "B04") == "B04"
    assert es.asset_key("s2", "SCL") == "scl" and pc.asset_key("s2", "SCL") == "SCL"
    es_item = load("earth_search_s2_l2a_baseline0509.json")
    pc_item = load("planetary_computer_s2_l2a_baseline0509.json")
    for band in (*S2_BAND_NAMES, "SCL"):
        assert es.asset_key("s2", band) in es_item["assets"]
        assert pc.asset_key("s2", band) in pc_item["assets"]
    s1 = load("planetary_computer_s1_rtc.json")
    assert {pc.asset_key("s1", "VV"), pc.asset_key("s1", "VH")} == set(s1["assets"])
    assert es.band_names("s2")["nir08"] == "B8A"


def test_demo_items_use_earth_search_names(tiny_demo):
    from cropkit.access.static_catalog import read_static_catalog

    demo = PROVIDERS["demo"]
    for collection, items in read_static_catalog(tiny_demo.catalog_path):
        if collection["id"] == "sentinel-2-c1-l2a":
            assert reflectance_scale_offset(items[0], "B11", demo) == (1e-4, -0.1)
            assert all(demo.asset_key("s2", b) in items[0]["assets"] for b in S2_BAND_NAMES)


def test_lookup_by_name_or_url():
    assert get_provider("planetary-computer").signed
    assert get_provider("https://earth-search.aws.element84.com/v1/").name == "earth-search"
    custom = get_provider("http://127.0.0.1:8081")
    assert custom.name == "custom" and custom.url == "http://127.0.0.1:8081"
    with pytest.raises(
        ConfigError, match="Unknown STAC provider 'sentinelhub'.*'demo', 'earth-search'"
    ):
        get_provider("sentinelhub")


def test_missing_collection_and_band_are_explained():
    with pytest.raises(ConfigError, match="has no 's1' collection \\(it offers: s2\\)"):
        PROVIDERS["earth-search"].collection("s1")
    with pytest.raises(ConfigError, match="Unknown s2 band 'B13'"):
        PROVIDERS["earth-search"].asset_key("s2", "B13")


def test_bad_baseline_is_reported():
    item = load("planetary_computer_s2_l2a_baseline0509.json")
    item["properties"]["s2:processing_baseline"] = "N/A"
    with pytest.raises(ConfigError, match="processing_baseline 'N/A'"):
        reflectance_scale_offset(item, "B02", PROVIDERS["planetary-computer"])
