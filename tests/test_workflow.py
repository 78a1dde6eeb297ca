import geopandas as gpd
import pytest

from cropkit.config import RunConfig
from cropkit.errors import DataError
from cropkit.run import RunFolder
from cropkit.workflow import mask_settings, run_parcels


def test_mask_settings_come_from_notebook_02(tmp_path):
    run = RunFolder(tmp_path)
    assert mask_settings(run) == ([4, 5, 6, 7], 1)
    run.record("02_cloud_masking", {"keep_classes": [4, 5], "buffer_px": 3})
    assert mask_settings(run) == ([4, 5], 3)


def test_parcels_need_a_file_for_real_data(tmp_path):
    with pytest.raises(DataError, match="Give parcels_path"):
        run_parcels(RunConfig(stac="earth-search"))
    with pytest.raises(DataError, match="does not exist"):
        run_parcels(RunConfig(), str(tmp_path / "rpg.gpkg"))


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
        parcels = run_parcels(cfg, str(path))
    messages = " ".join(str(w.message) for w in caught)
    assert "2 of 3 parcels kept" in messages and "XYZ: 1" in messages
    assert "1 of 2 parcels lie outside the study area" in messages
    assert parcels["tier4"].tolist() == ["winter_soft_wheat"]
    assert parcels["tier1"].tolist() == ["arable_crops"]
    (tmp_path / "bad.geojson").write_text(
        gpd.GeoDataFrame({"code": ["BTH"]}, geometry=[inside], crs=4326).to_json()
    )
    with pytest.raises(DataError, match="no 'CODE_CULTU' column .*'code'"):
        run_parcels(cfg, str(tmp_path / "bad.geojson"))
    with pytest.raises(DataError, match="None of the 1 parcels reaches the study area"):
        far = tmp_path / "far.geojson"
        gpd.GeoDataFrame({"CODE_CULTU": ["BTH"]}, geometry=[box(0, 0, 1, 1)], crs=4326).to_file(far)
        run_parcels(cfg, str(far))


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
        parcels = run_parcels(cfg, str(path), code_column="EC_hcat_c", crop_codes="hcat3")
    assert parcels["tier4"].tolist() == ["winter_durum_wheat", "fruit_orchard"]


@pytest.mark.server
def test_run_items_search_when_notebook_01_did_not_run(stac_server, tmp_path):
    from cropkit.providers import PROVIDERS
    from cropkit.stac import StacSource, open_api
    from cropkit.workflow import run_items

    source = StacSource(stac_server.url, PROVIDERS["demo"], open_api(stac_server.url))
    cfg = RunConfig(run_root=str(tmp_path), max_cloud=20)
    run = RunFolder.for_config(cfg)
    found = run_items(source, run, cfg, "s2")
    assert run.item_ids("s2") == [it.id for it in found]
    again = run_items(source, run, cfg, "s2")  # now fetched by id
    assert [it.id for it in again] == [it.id for it in found]
    with pytest.raises(DataError, match="not in 'sentinel-2-c1-l2a'.*Rerun notebook 01"):
        source.fetch("s2", ["S2X_NOPE"])


def test_composites_of_another_study_area_are_refused(tmp_path):
    import numpy as np
    import xarray as xr

    from cropkit.store import write_zarr
    from cropkit.workflow import load_composites

    cfg = RunConfig(run_root=str(tmp_path))
    run = RunFolder.for_config(cfg)
    xmin, ymin, xmax, ymax = cfg.grid.bounds

    def composite(width_px):
        x = xmin + 5 + 10 * np.arange(width_px)
        y = ymax - 5 - 10 * np.arange(cfg.grid.shape[0])
        data = np.zeros((1, y.size, x.size), dtype="float32")
        return xr.Dataset({"median": (("period", "y", "x"), data)}, coords={"x": x, "y": y})

    write_zarr(composite(cfg.grid.shape[1]), run.path / "s2_composite.zarr", progress=False)
    assert load_composites(None, cfg, run, ["s2"])["s2"].sizes["x"] == cfg.grid.shape[1]
    write_zarr(composite(64), run.path / "s2_composite.zarr", progress=False)
    with pytest.raises(DataError, match="covers another study area.*another run_root"):
        load_composites(None, cfg, run, ["s2"])
    with pytest.raises(DataError, match="Unknown inputs"):
        load_composites(None, cfg, run, ["s3"])
    # notebook 04 has no period: it reads the one notebook 03 composited with
    half_month = composite(cfg.grid.shape[1]).assign(flag=1)
    write_zarr(half_month, run.path / "s2_composite_half-month.zarr", progress=False)
    run.record("03_composites", {"period": "half-month"})
    assert "flag" in load_composites(None, cfg, run, ["s2"])["s2"]


def test_a_notebook_records_its_parameters_as_the_run_used_them():
    from cropkit.notebooks import notebook_parameters, parameter_names

    names = parameter_names("04")
    assert names[:3] == ["region", "year", "season"] and "train_minutes" in names
    namespace = {**{n: 0 for n in names}, "models": ["xgboost"], "cfg": object(), "ck": None}
    recorded = notebook_parameters("04_model_training", namespace)
    assert set(recorded) == set(names) and recorded["models"] == ["xgboost"]


def test_training_inputs_follow_what_the_provider_offers():
    from cropkit.errors import ConfigError
    from cropkit.workflow import training_inputs

    assert training_inputs(RunConfig(), ["s2"], compare=True) == ["enmap", "s1", "s2"]
    assert training_inputs(RunConfig(), ["s2"]) == ["s2"]
    assert training_inputs(RunConfig(stac="earth-search"), ["s2"], compare=True) == ["s2"]
    with pytest.raises(ConfigError):
        training_inputs(RunConfig(stac="earth-search"), ["s2", "enmap"])
