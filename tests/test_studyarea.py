import geopandas as gpd
import pytest
from shapely.geometry import Polygon, box

from cropkit.core.errors import ConfigError
from cropkit.core.regions import get_region
from cropkit.core.studyarea import (
    PROFILES,
    LargeAreaWarning,
    aoi_area,
    read_aoi,
    region_area,
    utm_epsg,
)


def test_a_bbox_gets_a_snapped_grid_tiled_in_zones():
    area = aoi_area([1.45, 48.40, 1.50, 48.43], zone_km=1.2)
    g = area.grid
    assert g.epsg == 32631 and g.shape == (360, 480)
    assert g.transform.c % 60 == 0 and g.transform.f % 60 == 0  # 10/20/30/60 m align
    assert [z.zone_id for z in g.zones[:3]] == ["z1", "z2", "z3"] and len(g.zones) == 12
    z5 = g.zones[4]  # second row, first column
    assert (z5.rows, z5.cols) == (slice(120, 240), slice(0, 120))
    assert z5.bounds == (
        g.transform.c,
        g.transform.f - 2400,
        g.transform.c + 1200,
        g.transform.f - 1200,
    )
    w, s, e, n = area.bbox
    assert w <= 1.45 and s <= 48.40 and e >= 1.50 and n >= 48.43  # covers the AOI
    assert area.name.startswith("aoi-") and aoi_area("1.45,48.40,1.50,48.43", 1.2).name == area.name


def test_a_vector_file_in_any_crs(tmp_path):
    poly = Polygon([(1.45, 48.40), (1.50, 48.40), (1.47, 48.43)])
    frame = gpd.GeoDataFrame({"name": ["farm"]}, geometry=[poly], crs=4326).to_crs(2154)
    frame.to_file(tmp_path / "aoi.gpkg")
    outline = read_aoi(str(tmp_path / "aoi.gpkg"))
    assert outline.bounds == pytest.approx((1.45, 48.40, 1.50, 48.43), abs=1e-6)
    area = aoi_area(str(tmp_path / "aoi.gpkg"), zone_km=1.2)
    assert area.grid.shape == (360, 480)
    frame.set_geometry(frame.centroid).to_file(tmp_path / "points.gpkg")
    with pytest.raises(ConfigError, match="holds no polygon"):
        read_aoi(str(tmp_path / "points.gpkg"))


def test_the_utm_zone_holding_most_of_the_area_wins():
    # 5.5-6.2 E: 5/7 of the box lies in zone 31 (0-6 E), the rest in zone 32
    epsg, share = utm_epsg(box(5.5, 45.0, 6.2, 45.2))
    assert epsg == 32631 and share == pytest.approx(5 / 7)
    assert utm_epsg(box(5.8, 45.0, 6.5, 45.2))[0] == 32632
    assert utm_epsg(box(-70.7, -33.6, -70.5, -33.4))[0] == 32719  # Santiago, south
    area = aoi_area([5.5, 45.0, 6.2, 45.2], zone_km=5)
    assert (
        "holds 71 % of the area" in area.epsg_note and "crosses a zone boundary" in area.epsg_note
    )
    assert aoi_area([5.5, 45.0, 6.2, 45.2], zone_km=5, epsg=32632).grid.epsg == 32632


def test_an_area_too_large_is_refused_and_a_large_one_warned(monkeypatch):
    with pytest.raises(ConfigError, match="larger than 300 km on a side.*several runs"):
        aoi_area([0.0, 44.0, 5.0, 48.0], zone_km=50)

    import psutil

    class Tiny:
        available = 10e6

    monkeypatch.setattr(psutil, "virtual_memory", lambda: Tiny())
    too_big = "about 0.0892 GB, more than half of the 0.01 GB free.*scheduler"
    with pytest.warns(LargeAreaWarning, match=too_big):
        aoi_area([1.45, 48.40, 1.50, 48.43], zone_km=1.2)


def test_region_areas_follow_the_profiles():
    chartres = get_region("chartres")
    for name, layout in PROFILES.items():
        area = region_area(chartres, name)
        nx, ny = layout["zones"]
        assert area.grid.shape == (ny * layout["zone_px"], nx * layout["zone_px"])
        assert area.region is chartres and area.name == "chartres"
    with pytest.raises(ConfigError, match="Unknown profile 'tiny'"):
        region_area(chartres, "tiny")
