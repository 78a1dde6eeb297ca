import numpy as np
import pytest

from cropkit.core.errors import ConfigError, UnknownRegionError
from cropkit.core.regions import get_region, load_regions, region_names


def test_eight_regions_at_their_places():
    regions = load_regions()
    assert region_names() == [
        "auch",
        "beziers",
        "carpentras",
        "chartres",
        "colmar",
        "riom",
        "saint-quentin",
        "vitre",
    ]
    assert regions["vitre"].epsg == 32630  # west of 0°E: UTM 30
    assert regions["colmar"].epsg == 32632  # east of 6°E: UTM 32
    assert regions["chartres"].mgrs_tile == "31UCP"
    for region in regions.values():
        assert 42 < region.lat < 51 and -5 < region.lon < 8
        assert sum(region.crop_mix.values()) == pytest.approx(1.0)
        assert len(region.properties["cloud_cover"]) == 12


def test_lookup_ignores_case_and_accents():
    assert get_region("Béziers").region_id == "beziers"
    assert get_region("SAINT QUENTIN").region_id == "saint-quentin"


def test_unknown_region_lists_known_ones():
    with pytest.raises(UnknownRegionError, match="Known regions: auch, beziers, carpentras"):
        get_region("paris")


def test_grid_tiles_zones_on_a_snapped_utm_grid():
    grid = get_region("chartres").grid(zone_px=256, zones=(2, 1))
    assert grid.shape == (256, 512)
    assert grid.epsg == 32631
    xmin, ymin, xmax, ymax = grid.bounds
    assert xmin % 60 == 0 and ymax % 60 == 0
    assert (xmax - xmin, ymax - ymin) == (5120, 2560)
    assert [z.zone_id for z in grid.zones] == ["z1", "z2"]
    assert grid.zones[1].cols == slice(256, 512)
    assert grid.zones[0].bounds[2] == grid.zones[1].bounds[0]
    west, south, east, north = grid.lonlat_bounds()
    assert west < 1.55 < east and south < 48.40 < north


def test_grid_at_coarser_resolution_covers_the_area():
    grid = get_region("vitre").grid(zone_px=100, zones=(1, 1))
    transform, shape = grid.at_resolution(30)
    assert shape == (34, 34)
    assert transform.a == 30 and transform.c == grid.transform.c


@pytest.mark.parametrize("kwargs", [{"zone_px": 8}, {"zones": (0, 1)}, {"zones": (9, 9)}])
def test_grid_rejects_bad_sizes(kwargs):
    with pytest.raises(ConfigError):
        get_region("riom").grid(**kwargs)


def test_zone_side_rounded_to_even():
    grid = get_region("riom").grid(zone_px=65)
    assert grid.shape == (66, 66)
    assert np.isclose(grid.bounds[2] - grid.bounds[0], 660)
