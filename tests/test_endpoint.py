"""The one door to the demo: what it builds, what it refuses, the API it shares."""

import os

import pytest

from cropkit.config import RunConfig
from cropkit.core.errors import ConfigError
from cropkit.endpoint import connect, demo_data, open_source, shared_api


def test_a_real_provider_has_no_demo_and_needs_no_server():
    cfg = RunConfig(stac="earth-search")
    with pytest.raises(ConfigError, match="uses 'earth-search', not the demo"):
        demo_data(cfg)
    source = open_source(cfg)  # nothing connects until the STAC API is asked for
    assert "stac" not in vars(source) and not source.simulated
    assert source.parcels is None and source.truth is None and source.basemap == "OpenStreetMap"
    assert source.canopy_separation([("grain_maize", "sorghum")], []) is None
    before = dict(os.environ)
    with shared_api(cfg) as timings:
        assert timings == {} and dict(os.environ) == before


def test_a_season_beyond_what_the_demo_simulates_is_refused():
    cfg = RunConfig(season="2022-06-01/2023-05-31")  # starts before 1 August 2022
    with pytest.raises(ConfigError, match="simulates 1 August 2022 to 31 December 2023"):
        demo_data(cfg)


@pytest.mark.server
def test_the_notebooks_share_one_api_in_the_providers_layout(tmp_path):
    cfg = RunConfig(stac="demo:planetary-computer", run_root=str(tmp_path))
    before = dict(os.environ)
    with shared_api(cfg) as timings:
        assert timings["server_start"] > 0 and "CROPKIT_STAC_API" in os.environ
        source = connect(cfg)  # what each notebook does: it attaches to the shared API
        assert source.url == os.environ["CROPKIT_STAC_API"]
        items = source.search("s2", cfg.bbox, datetime="2023-06-01/2023-06-10")
        assert [it.collection_id for it in items] == ["sentinel-2-l2a"] * len(items) != []
        assert all(it.id.startswith(("S2A_MSIL2A_", "S2B_MSIL2A_")) for it in items)
        assert "B04" in items[0].assets and "red" not in items[0].assets
    assert dict(os.environ) == before


def test_a_simulated_run_brings_its_parcels_and_truth():
    source = open_source(RunConfig())
    assert source.simulated and source.basemap is None and "stac" not in vars(source)
    parcels, truth = source.parcels, source.truth
    assert len(parcels) == 77 and "CODE_CULTU" in parcels  # the ci profile's parcels
    assert set(truth["ID_PARCEL"]) == set(parcels["ID_PARCEL"])
    assert {"grown", "declared", "false_declaration", "stressed"} <= set(truth.columns)
