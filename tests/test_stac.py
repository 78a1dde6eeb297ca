import json
from pathlib import Path

import pystac
import pytest

from cropkit.access.providers import PROVIDERS, get_provider
from cropkit.access.stac import (
    StacSource,
    items_table,
    load_items,
    normalize_bbox,
    open_api,
    save_items,
)
from cropkit.config import RunConfig
from cropkit.core.errors import ConfigError, EmptySearchError, StacConnectionError
from cropkit.server.postgres import free_port

FIXTURES = Path(__file__).parent / "fixtures"


def test_normalize_bbox():
    assert normalize_bbox([1, 48, "1.5", 48.5]) == (1.0, 48.0, 1.5, 48.5)


@pytest.mark.parametrize(
    ("bbox", "message"),
    [
        ((1, 2, 3), "four numbers"),
        (("a", 1, 2, 3), "four numbers"),
        ((48, 1, 48.5, 1.5, 2), "four numbers"),
        ((500000, 5300000, 510000, 5310000), "in degrees"),
        ((1.5, 48, 1.0, 48.5), "swapped"),
        ((1.0, 48.5, 1.5, 48.0), "swapped"),
    ],
)
def test_bad_bbox_is_explained(bbox, message):
    with pytest.raises(ConfigError, match=message):
        normalize_bbox(bbox)


def test_unreachable_api_is_explained():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(
        StacConnectionError, match=f"Could not reach the STAC API at {url}.*stac='demo'"
    ):
        open_api(url)


@pytest.mark.server
def test_search_against_the_local_api(stac_server):
    source = StacSource(stac_server.url, PROVIDERS["demo"], open_api(stac_server.url))
    cfg = RunConfig()
    items = source.search("s2", cfg.bbox, 2023, max_cloud=30)
    assert all(it.properties["eo:cloud_cover"] < 30 for it in items)
    dates = [it.datetime for it in items]
    assert dates == sorted(dates)
    found = source.search_all(cfg.bbox, 2023, max_cloud=30)
    assert set(found) == {"s2", "s1", "enmap"}
    assert len(found["s1"]) == 59  # radar ignores the cloud limit
    assert [it.id for it in found["s2"]] == [it.id for it in items]


@pytest.mark.server
def test_empty_search_shows_the_query(stac_server):
    source = StacSource(stac_server.url, PROVIDERS["demo"], open_api(stac_server.url))
    with pytest.raises(EmptySearchError, match="datetime=2019-01-01.*not in these dates. Widen"):
        source.search("s2", (1.0, 48.0, 2.0, 49.0), 2019)
    with pytest.raises(EmptySearchError, match="all cloudier than the limit. Raise max_cloud"):
        source.search("s2", (1.0, 48.0, 2.0, 49.0), 2023, max_cloud=0)
    sea = (-5.5, 47.0, -5.4, 47.1)  # the Bay of Biscay, off Brittany
    with pytest.raises(EmptySearchError, match="no item over this area at any date .over the sea"):
        source.search("s2", sea, 2023)
    with pytest.raises(ConfigError, match="Unknown sensor 'landsat'"):
        source.search("landsat", (1.0, 48.0, 2.0, 49.0), 2023)


def test_items_table_and_round_trip(tmp_path):
    names = (
        "planetary_computer_s2_l2a_baseline0509.json",
        "planetary_computer_s2_l2a_baseline0300.json",
    )
    items = pystac.ItemCollection(
        [pystac.Item.from_dict(json.loads((FIXTURES / name).read_text())) for name in names]
    )
    table = items_table(items)
    assert list(table.index) == [
        "S2A_MSIL2A_20210610T105621_R094_T31UCP_20210610T150223",
        "S2A_MSIL2A_20230604T105621_R094_T31UCP_20230604T170812",
    ]
    assert table["eo:cloud_cover"].tolist() == [3.5, 3.5]
    path = save_items(items, tmp_path / "items" / "s2.json")
    assert [it.id for it in load_items(path)] == [it.id for it in items]


@pytest.mark.server
def test_a_url_that_is_not_a_stac_api_is_explained(stac_server):
    with pytest.raises(StacConnectionError, match="answered HTTP 404"):
        open_api(f"{stac_server.url}/no-such-page")


@pytest.mark.server
def test_a_custom_url_offers_the_collections_it_serves(stac_server):
    from cropkit.access.stac import discover_collections

    provider = discover_collections(get_provider(stac_server.url), open_api(stac_server.url))
    assert provider.collections == {
        "s2": "sentinel-2-c1-l2a",
        "s1": "sentinel-1-rtc",
        "enmap": "enmap-l2a",
    }
    assert provider.asset_key("s2", "B04") == "red"


def test_items_table_of_nothing_is_empty():
    table = items_table([])
    assert table.empty and "eo:cloud_cover" in table.columns


@pytest.mark.server
def test_a_static_catalog_is_named_as_such_with_the_way_out(stac_server, tiny_demo):
    served = tiny_demo.catalog_path.resolve().relative_to(stac_server.files_root)
    url = f"{stac_server.files_url}/{served.as_posix()}"  # the catalog as plain files
    with pytest.raises(StacConnectionError, match="is a static STAC catalog") as err:
        open_api(url)
    assert "LocalStacServer" in str(err.value) and "earth-search" in str(err.value)
