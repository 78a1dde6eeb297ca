import pytest

from cropkit.config import RunConfig
from cropkit.errors import ConfigError, UnknownRegionError


def test_defaults_and_derived_values():
    cfg = RunConfig()
    assert cfg.region == "chartres" and cfg.is_demo
    assert str(cfg.run_dir) == "runs/chartres-2023"
    w, s, e, n = cfg.bbox
    assert w < 1.55 < e and s < 48.40 < n
    assert cfg.grid.shape == (256, 512)
    assert cfg.parameters() == {
        "region": "chartres",
        "year": 2023,
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
