"""The run's parcels: user files (RPG, EuroCrops), checked and clipped; the demo's."""

import geopandas as gpd
import pytest

from cropkit.config import RunConfig
from cropkit.core.errors import DataError
from cropkit.core.run import RunFolder
from cropkit.endpoint import open_source
from cropkit.stages.parameters import TrainingParameters
from cropkit.stages.parcels import run_parcels, trained_parcels


def test_parcels_need_a_file_for_real_data(tmp_path):
    with pytest.raises(DataError, match="Give parcels_path"):
        run_parcels(open_source(RunConfig(stac="earth-search")))
    with pytest.raises(DataError, match="does not exist"):
        run_parcels(open_source(RunConfig()), str(tmp_path / "rpg.gpkg"))


def test_user_parcels_are_checked_and_get_their_tiers(tmp_path):
    from shapely.geometry import box

    cfg = RunConfig(stac="earth-search")
    w, s, e, n = cfg.bbox
    inside = box(w + 0.001, s + 0.001, w + 0.003, s + 0.002)
    path = tmp_path / "rpg.geojson"
    gpd.GeoDataFrame(
        {"CODE_CULTU": ["BTH", "XYZ", "BTH"]},
        geometry=[inside, inside, box(0, 0, 1, 1)],
        crs=4326,
    ).to_file(path)
    with pytest.warns(UserWarning) as caught:
        parcels = run_parcels(open_source(cfg), str(path))
    messages = " ".join(str(w.message) for w in caught)
    assert "2 of 3 parcels kept" in messages and "XYZ: 1" in messages
    assert "1 of 2 parcels lie outside the study area" in messages
    assert parcels["tier4"].tolist() == ["winter_soft_wheat"]
    assert parcels["tier1"].tolist() == ["arable_crops"]
    (tmp_path / "bad.geojson").write_text(
        gpd.GeoDataFrame({"code": ["BTH"]}, geometry=[inside], crs=4326).to_json()
    )
    with pytest.raises(DataError, match="no 'CODE_CULTU' column .*'code'"):
        run_parcels(open_source(cfg), str(tmp_path / "bad.geojson"))
    with pytest.raises(DataError, match="do not overlap the study area: none of the 1 parcels"):
        far = tmp_path / "far.geojson"
        gpd.GeoDataFrame({"CODE_CULTU": ["BTH"]}, geometry=[box(0, 0, 1, 1)], crs=4326).to_file(far)
        run_parcels(open_source(cfg), str(far))


def test_eurocrops_parcels_map_through_hcat3(tmp_path):
    from shapely.geometry import box

    cfg = RunConfig(stac="earth-search")
    w, s, e, n = cfg.bbox
    path = tmp_path / "ec.gpkg"
    gpd.GeoDataFrame(
        {"EC_hcat_c": ["3301010201", "3303011100", "3399999999"]},
        geometry=[box(w + 0.001, s + 0.001, w + 0.003, s + 0.002)] * 3,
        crs=4326,
    ).to_crs(2154).to_file(path)
    with pytest.warns(UserWarning, match="3399999999: 1"):
        parcels = run_parcels(
            open_source(cfg), str(path), code_column="EC_hcat_c", crop_codes="hcat3"
        )
    assert parcels["tier4"].tolist() == ["winter_durum_wheat", "fruit_orchard"]


def test_later_notebooks_read_the_parcels_notebook_04_trained_on(tmp_path):
    from shapely.geometry import box

    cfg = RunConfig(stac="earth-search", run_root=str(tmp_path))
    run = RunFolder.for_config(cfg)
    w, s, e, n = cfg.bbox
    path = tmp_path / "ec.gpkg"
    gpd.GeoDataFrame(
        {"EC_hcat_c": ["3301010201"]},
        geometry=[box(w + 0.001, s + 0.001, w + 0.003, s + 0.002)],
        crs=4326,
    ).to_file(path)
    with pytest.raises(DataError, match="Notebook 04_model_training has not run"):
        trained_parcels(open_source(cfg), run)  # its parcel settings are unknown
    chosen = {"parcels_path": str(path), "code_column": "EC_hcat_c", "crop_codes": "hcat3"}
    run.record("04_model_training", TrainingParameters(**chosen).record())
    assert trained_parcels(open_source(cfg), run)["tier4"].tolist() == ["winter_durum_wheat"]
