import json

import pytest

from cropkit.access.static_catalog import read_static_catalog, write_static_catalog
from cropkit.core.errors import DataError


def _item(item_id, day, epsg=32631):
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": item_id,
        "geometry": {"type": "Point", "coordinates": [1.5, 48.4]},
        "bbox": [1.5, 48.4, 1.6 + day / 100, 48.5],
        "properties": {"datetime": f"2023-06-0{day}T10:56:29Z", "proj:epsg": epsg},
        "assets": {"red": {"href": "./B04.tif", "type": "image/tiff"}},
        "links": [],
        "stac_extensions": ["https://stac-extensions.github.io/projection/v1.1.0/schema.json"],
    }


def test_round_trip_keeps_fields_as_published(tmp_path):
    items = [_item("b", 2), _item("a", 1)]
    path = write_static_catalog(
        tmp_path,
        {"id": "cat", "description": "test"},
        {
            "sentinel-2-l2a": ({"description": "s2", "license": "CC-BY-4.0"}, items),
            "empty": ({"description": "e"}, []),
        },
    )
    assert path == tmp_path / "catalog.json"
    read = dict((c["id"], (c, its)) for c, its in read_static_catalog(path))
    collection, got = read["sentinel-2-l2a"]
    assert [it["id"] for it in got] == ["a", "b"]  # sorted by time
    assert got[0]["properties"]["proj:epsg"] == 32631  # not migrated to proj:code
    assert got[0]["assets"]["red"]["href"] == str(tmp_path / "sentinel-2-l2a" / "a" / "B04.tif")
    assert collection["extent"]["temporal"]["interval"] == [
        ["2023-06-01T10:56:29Z", "2023-06-02T10:56:29Z"]
    ]
    assert collection["extent"]["spatial"]["bbox"] == [[1.5, 48.4, 1.62, 48.5]]
    on_disk = json.loads((tmp_path / "sentinel-2-l2a" / "a" / "a.json").read_text())
    assert (
        on_disk["assets"]["red"]["href"] == "./B04.tif"
        and on_disk["collection"] == "sentinel-2-l2a"
    )
    empty, none = read["empty"]
    assert none == [] and empty["extent"]["spatial"]["bbox"] == [[-180.0, -90.0, 180.0, 90.0]]


def test_incomplete_catalog_is_reported(tmp_path):
    path = write_static_catalog(
        tmp_path, {"id": "c", "description": "d"}, {"s1": ({"description": "x"}, [_item("a", 1)])}
    )
    (tmp_path / "s1" / "a" / "a.json").unlink()
    with pytest.raises(DataError, match="STAC item .*a.json could not be read.*rebuild it"):
        list(read_static_catalog(path))
    with pytest.raises(DataError, match="STAC catalog .* could not be read"):
        list(read_static_catalog(tmp_path / "nope.json"))
