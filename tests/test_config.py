import pytest

from cropkit.config import RunConfig
from cropkit.core.errors import ConfigError, UnknownRegionError


def test_defaults_and_derived_values():
    cfg = RunConfig()
    assert cfg.region == "chartres" and cfg.is_demo
    assert str(cfg.run_dir) == "runs/chartres-2023-demo-ci"
    w, s, e, n = cfg.bbox
    assert w < 1.55 < e and s < 48.40 < n
    assert cfg.grid.shape == (256, 512)
    assert cfg.parameters() == {
        "region": "chartres",
        "year": 2023,
        "season": "calendar",
        "aoi": "",
        "zone_km": 5.12,
        "epsg": 0,
        "stac": "demo",
        "max_cloud": 80.0,
        "profile": "ci",
        "run_root": "runs",
        "seed": 0,
    }
    assert "Chartres (Eure-et-Loir (28))" in cfg._repr_html_()


def test_region_names_are_normalised():
    assert RunConfig(region="Vitré").region == "vitre"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"region": "narnia"}, UnknownRegionError, "Known regions: auch"),
        ({"year": 2012}, ConfigError, "start in 2017"),
        ({"year": "2023"}, ConfigError, "must be an integer"),
        ({"year": 2023.0}, ConfigError, "must be an integer"),
        ({"max_cloud": 120}, ConfigError, "percentage between 0 and 100"),
        ({"profile": "tiny"}, ConfigError, "choose one of \\['ci', 'full', 'large'\\]"),
        ({"stac": "copernicus"}, ConfigError, "Unknown STAC provider 'copernicus'"),
    ],
)
def test_bad_parameters_are_explained(kwargs, error, message):
    with pytest.raises(error, match=message):
        RunConfig(**kwargs)


def test_real_provider_config():
    cfg = RunConfig(stac="planetary-computer", region="colmar")
    assert not cfg.is_demo and cfg.provider.signed
    assert cfg.grid.epsg == 32632


def test_loose_but_valid_values_are_normalised():
    import numpy as np

    cfg = RunConfig(year=np.int64(2022), max_cloud="35", stac=" demo ")
    assert cfg.year == 2022 and cfg.max_cloud == 35.0 and cfg.is_demo
    with pytest.raises(ConfigError, match="max_cloud must be a number"):
        RunConfig(max_cloud="cloudy")


def test_run_folders_are_named_by_what_defines_them():
    names = {
        RunConfig().run_dir.name,
        RunConfig(profile="full").run_dir.name,
        RunConfig(stac="earth-search").run_dir.name,
        RunConfig(season="winter").run_dir.name,
        RunConfig(seed=3).run_dir.name,
        RunConfig(aoi=[1.52, 48.39, 1.55, 48.41], zone_km=1.2).run_dir.name,
    }
    assert len(names) == 6
    assert RunConfig(season="winter").run_dir.name == "chartres-2022-10-01_2023-09-30-demo-ci"
    assert RunConfig(stac="http://127.0.0.1:9/stac").run_dir.name.startswith("chartres-2023-stac-")


def test_a_demo_aoi_runs_on_the_demo_region_that_holds_it():
    cfg = RunConfig(aoi="1.52,48.39,1.55,48.41", zone_km=1.2)
    assert cfg.region == "chartres" and cfg.region_info.region_id == "chartres"
    assert cfg.grid.epsg == 32631 and cfg.grid.shape == (240, 240) and len(cfg.grid.zones) == 4
    outer = RunConfig().grid.bounds
    inner = cfg.grid.bounds
    assert outer[0] <= inner[0] and inner[2] <= outer[2] and outer[1] <= inner[1] <= inner[3]
    assert (inner[0] - outer[0]) % 60 == 0 and (outer[3] - inner[3]) % 60 == 0  # same lattice
    assert "UTM zone 31, which holds 100 %" in cfg.summary()["CRS"]


@pytest.mark.parametrize(
    ("aoi", "message"),
    [
        ([1.0, 45.0, 1.1, 45.1], "outside every demo region's simulated area"),
        ([1.50, 48.39, 1.56, 48.41], "is not within the 'ci' demo of Chartres"),
        ([-5.0, 48.0, -4.0, 47.0], "empty or swapped"),
        ([179.5, -17.0, -179.5, -16.0], r"crosses the antimeridian.*\(179.5, -17, 180, -16\)"),
        ("nowhere.geojson", "neither a bbox .* nor an existing vector file"),
    ],
)
def test_bad_aois_are_explained(aoi, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig(aoi=aoi, zone_km=1.2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"season": "spring"}, "Unknown season 'spring'"),
        ({"season": "2021-01-01/2023-01-01"}, "more than 18 months"),
        ({"season": "2023-13-01/2023-12-01"}, "not a date"),
        ({"season": "2030-01-01/2030-06-01"}, "in the future"),
        ({"aoi": [1.5, 48.4, 1.6, 48.5], "zone_km": 0.1}, "zone_km=0.1 is out of range"),
        ({"aoi": [1.5, 48.4, 1.6, 48.5], "epsg": 4326}, "not a WGS84 / UTM code"),
    ],
)
def test_bad_season_and_area_parameters_are_explained(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig(stac="earth-search", **kwargs)
