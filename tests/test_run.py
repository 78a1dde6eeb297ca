import datetime as dt
import json

import pystac
import pytest

from cropkit.config import RunConfig
from cropkit.core.errors import DataError
from cropkit.core.run import RunFolder, software_versions


def test_manifest_accumulates_notebook_entries(tmp_path):
    cfg = RunConfig(run_root=str(tmp_path))
    run = RunFolder.for_config(cfg)
    assert run.path == tmp_path / "chartres-2023-demo-ci"
    run.record(
        "01_stac_discovery",
        cfg.parameters(),
        products={"s2": run.path / "items" / "s2.json"},
        items={"s2": ["a", "b"]},
    )
    run.record("02_cloud_masking", {"buffer": 2}, metrics={"clear": 0.4})
    manifest = json.loads(run.manifest_path.read_text())
    assert list(manifest["notebooks"]) == ["01_stac_discovery", "02_cloud_masking"]
    assert manifest["products"] == {"s2": "items/s2.json"}
    assert manifest["items"] == {"s2": ["a", "b"]}
    assert manifest["notebooks"]["02_cloud_masking"]["metrics"] == {"clear": 0.4}
    assert manifest["software"]["cropkit"] == "0.1.0"


def test_missing_items_say_which_notebook_to_run(tmp_path):
    with pytest.raises(DataError, match="run notebook 01_stac_discovery"):
        RunFolder(tmp_path).load_items("s2")


def test_broken_manifest_is_reported(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(DataError, match="is damaged \\(not valid JSON"):
        RunFolder(tmp_path).manifest()


def test_items_round_trip(tmp_path):
    item = pystac.Item("x", None, None, dt.datetime(2023, 5, 1), {})
    run = RunFolder(tmp_path)
    run.save_items("s1", pystac.ItemCollection([item]))
    assert [i.id for i in run.load_items("s1")] == ["x"]


def test_versions_name_the_stack():
    versions = software_versions()
    for name in ("python", "pystac-client", "stackstac", "stac-fastapi-pgstac", "torch"):
        assert versions[name]


def test_a_run_folder_refuses_the_products_of_another_run(tmp_path):

    cfg = RunConfig(run_root=str(tmp_path))
    run = RunFolder.for_config(cfg)
    assert run.manifest()["identity"]["area"] == "chartres"
    assert RunFolder.for_config(RunConfig(run_root=str(tmp_path))).path == run.path
    # same folder name, another grid: e.g. a hand-edited or copied folder
    manifest = run.manifest()
    manifest["identity"]["bounds"][0] += 60
    run.manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=r"holds the products of another run .*\['bounds'\]"):
        RunFolder.for_config(cfg)
