"""Each notebook, executed headlessly by papermill in the "ci" profile, against the demo."""

import json

import nbformat
import pytest
from conftest import DEMO_AOI

from cropkit.access.static_catalog import read_static_catalog
from cropkit.config import RunConfig
from cropkit.demo import build_demo
from cropkit.face.notebooks import notebook_paths

pytestmark = [pytest.mark.notebook, pytest.mark.server]


def test_an_aoi_runs_the_notebooks_on_its_own_grid(demo_run):
    import xarray as xr

    cfg, timings = demo_run
    assert cfg.run_dir.name.startswith("aoi-") and cfg.run_dir.name.endswith("-2023-demo")
    manifest = json.loads((cfg.run_dir / "manifest.json").read_text())
    assert manifest["notebooks"]["01_stac_discovery"]["parameters"]["aoi"] == DEMO_AOI
    assert manifest["identity"]["zones"] == 2 and manifest["identity"]["epsg"] == 32631
    s2 = xr.open_zarr(cfg.run_dir / "s2_composite.zarr")
    assert (s2.sizes["y"], s2.sizes["x"]) == cfg.grid.shape == (240, 480)
    assert float(s2["x"][0]) == cfg.grid.transform.c + 5
    outer = RunConfig().grid  # the demo region's simulated area, on the same 60 m lattice
    assert (cfg.grid.transform.c - outer.transform.c) % 60 == 0
    assert outer.bounds[0] < cfg.grid.bounds[0] and cfg.grid.bounds[2] < outer.bounds[2]
    print("AOI run timings (s):", timings)


def test_notebooks_are_committed_clean():
    for path in notebook_paths():
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), path.name
        assert "parameters" in code[0].metadata.get("tags", []), path.name
        assert nb.cells[0].source.startswith("# "), path.name


def test_01_saves_exactly_the_items_the_catalog_holds(demo_run):
    cfg, timings = demo_run
    manifest = json.loads((cfg.run_dir / "manifest.json").read_text())
    assert manifest["notebooks"]["01_stac_discovery"]["parameters"]["region"] == "chartres"
    demo = build_demo("chartres", 2023, "ci")
    expected = {}
    for collection, items in read_static_catalog(demo.catalog_path):
        keep = [
            it
            for it in items
            if it["properties"].get("eo:cloud_cover", 0) < cfg.max_cloud
            or collection["id"] == "sentinel-1-rtc"
        ]
        expected[collection["id"]] = sorted(it["id"] for it in keep)
    assert sorted(manifest["items"]["s2"]) == expected["sentinel-2-c1-l2a"]
    assert sorted(manifest["items"]["s1"]) == expected["sentinel-1-rtc"]
    assert sorted(manifest["items"]["enmap"]) == expected["enmap-l2a"]
    assert (
        40 < len(manifest["items"]["s2"]) < len(list(read_static_catalog(demo.catalog_path))[0][1])
    )
    saved = json.loads((cfg.run_dir / "items" / "s2.json").read_text())
    assert [f["id"] for f in saved["features"]] == manifest["items"]["s2"]
    assert timings["01_stac_discovery"] > 0


def test_01_executed_copy_shows_its_products(demo_run):
    cfg, _ = demo_run
    nb = nbformat.read(cfg.run_dir / "notebooks" / "01_stac_discovery.ipynb", as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = json.dumps(outputs)
    assert "S2" in text and "eo:cloud_cover" in text
    assert any(
        "text/html" in o.get("data", {}) for o in outputs
    )  # maps and plots render statically


def test_notebooks_are_found_by_name():
    from cropkit.core.errors import ConfigError
    from cropkit.face.notebooks import resolve_notebooks

    assert [p.stem for p in resolve_notebooks(["01"])] == ["01_stac_discovery"]
    assert resolve_notebooks(["01_stac_discovery"]) == resolve_notebooks(None)[:1]
    with pytest.raises(
        ConfigError, match="No notebook called '09_x'; the notebooks are: 01_stac_discovery"
    ):
        resolve_notebooks(["09_x"])


def test_a_misspelt_override_is_named_before_anything_runs(tmp_path):
    from cropkit.core.errors import ConfigError
    from cropkit.face.notebooks import run_notebooks

    cfg = RunConfig(run_root=str(tmp_path))
    with pytest.raises(
        ConfigError, match=r"04_model_training has no parameter 'epoch'; its parameters are: region"
    ) as err:
        run_notebooks(cfg, ["03", "04"], overrides={"04": {"epoch": 3, "studies": {"folds": 0}}})
    assert "training" in str(err.value)
    with pytest.raises(ConfigError, match=r"training has no setting 'epoch'; its settings are"):
        run_notebooks(cfg, ["04"], overrides={"04": {"training": {"epoch": 3}}})
    assert not cfg.run_dir.exists()  # nothing ran, nothing was written


def test_01_on_its_own_starts_and_stops_its_own_server(demo_run, tmp_path, monkeypatch):
    """Run by hand (no runner), the notebook starts a local API and leaves nothing behind."""
    import glob
    import tempfile
    import time
    from pathlib import Path

    import papermill as pm

    from cropkit.server import ENV_DSN, ENV_URL

    monkeypatch.delenv(ENV_URL, raising=False)
    monkeypatch.delenv(ENV_DSN, raising=False)
    pattern = f"{tempfile.gettempdir()}/cropkit-pg-*"
    before = set(glob.glob(pattern))
    out = tmp_path / "01.ipynb"
    pm.execute_notebook(
        str(notebook_paths()[0]),
        str(out),
        kernel_name="python3",
        progress_bar=False,
        parameters={"run_root": str(tmp_path / "runs"), "max_cloud": 30},
    )
    run_dir = RunConfig(run_root=str(tmp_path / "runs"), max_cloud=30).run_dir
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["notebooks"]["01_stac_discovery"]["parameters"]["max_cloud"] == 30
    assert (
        0
        < len(manifest["items"]["s2"])
        < len(json.loads((demo_run[0].run_dir / "manifest.json").read_text())["items"]["s2"])
    )
    # the kernel started its own cluster; once the kernel is gone, it is gone too
    started = set(glob.glob(pattern)) - before
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(Path(p).exists() for p in started):
        time.sleep(0.5)
    assert not any(Path(p).exists() for p in started)


def test_02_scores_the_mask_and_saves_its_summary(demo_run):
    import pandas as pd
    import xarray as xr

    cfg, timings = demo_run
    manifest = json.loads((cfg.run_dir / "manifest.json").read_text())
    entry = manifest["notebooks"]["02_cloud_masking"]
    assert (
        entry["parameters"]["keep_classes"] == [4, 5, 6, 7]
        and entry["parameters"]["buffer_px"] == 1
    )
    assert entry["metrics"]["scenes_used"] == entry["metrics"]["scenes_found"]
    assert entry["metrics"]["scenes_found"] == len(manifest["items"]["s2"])
    scores = pd.read_csv(cfg.run_dir / "cloudmask_scores.csv", index_col="buffer_px")
    assert list(scores.index) == [0, 1, 2, 3]
    assert scores.loc[0, "precision"] > 0.85 and scores.loc[0, "recall"] > 0.6
    assert scores["recall"].is_monotonic_increasing  # a wider buffer catches more
    assert scores["kept"].is_monotonic_decreasing  # ... and keeps fewer pixels
    summary = xr.open_zarr(cfg.run_dir / "cloudmask.zarr")
    assert summary["clear_fraction"].sizes["time"] == len(manifest["items"]["s2"])
    assert summary["valid_count"].shape == (240, 480)
    assert timings["02_cloud_masking"] > 0


def test_03_writes_gap_filled_composites(demo_run):
    import xarray as xr

    cfg, _ = demo_run
    s2 = xr.open_zarr(cfg.run_dir / "s2_composite.zarr")
    assert dict(s2["median"].sizes) == {"period": 12, "band": 10, "y": 240, "x": 480}
    flags = s2["flags"].values
    assert (flags == 0).mean() > 0.5 and (
        flags == 3
    ).sum() == 0  # observed mostly; nothing left missing
    assert not bool(s2["median"].isnull().any().compute())
    s1 = xr.open_zarr(cfg.run_dir / "s1_composite.zarr")
    assert list(s1["band"].values) == ["VV", "VH"] and float(s1["mean"].mean()) < -5
    enmap = xr.open_zarr(cfg.run_dir / "enmap_clearest.zarr")
    assert enmap["reflectance"].sizes["band"] == 224
    manifest = json.loads((cfg.run_dir / "manifest.json").read_text())
    assert manifest["notebooks"]["03_composites"]["metrics"]["periods"] == 12


def test_04_trains_scores_and_saves_every_model(demo_run):
    import pandas as pd
    import xarray as xr

    cfg, timings = demo_run
    run_dir = cfg.run_dir
    manifest = json.loads((run_dir / "manifest.json").read_text())
    entry = manifest["notebooks"]["04_model_training"]
    assert entry["parameters"]["training"]["max_train_pixels"] == 4000
    assert entry["parameters"]["studies"]["leakage_report"] is True  # the defaults, recorded
    assert entry["parameters"]["test_zones"] == ["z2"]
    assert entry["parameters"]["models"] == ["xgboost", "ltae"]
    products = ("metrics", "pixels", "patches")
    for model in ("xgboost", "ltae"):
        products += (f"model_{model}", f"predictions_{model}", f"map_{model}_tier4")
    for product in products:
        assert (run_dir / manifest["products"][product]).exists(), product
    assert (run_dir / "models" / "ltae" / "checkpoints" / "last.ckpt").exists()
    deep = json.loads((run_dir / "metrics.json").read_text())["ltae"]
    assert deep["info"]["epochs"] <= 1 and 0 < deep["test"]["tier4"]["macro_f1"] < 1
    assert set(entry["metrics"]) == {"xgboost", "ltae"}
    metrics = json.loads((run_dir / "metrics.json").read_text())["xgboost"]
    tier4, tier1 = metrics["test"]["tier4"], metrics["test"]["tier1"]
    assert 0.2 < tier4["macro_f1"] < 1.0 and tier1["overall_accuracy"] >= tier4["overall_accuracy"]
    leak = metrics["leakage_report"]
    assert leak["random pixels"]["macro_f1"] > leak["spatial"]["macro_f1"]
    assert leak["spatial"]["parcels_on_both_sides"] == 0
    # the other studies are a parameter away (tested in test_studies and test_robustness)
    assert [metrics[k] for k in ("cross_validation", "input_comparison", "cloud_robustness")] == [
        None
    ] * 3
    pixels = xr.open_zarr(run_dir / "datasets" / "pixels.zarr")
    assert pixels["s2"].sizes["time"] == 12 and pixels["enmap"].sizes["wavelength"] == 224
    predictions = pd.read_parquet(run_dir / "predictions_xgboost.parquet")
    assert len(predictions) == sum(sum(row) for row in tier4["confusion"]["counts"])
    nb = nbformat.read(run_dir / "notebooks" / "04_model_training.ipynb", as_version=4)
    text = json.dumps([o for c in nb.cells if c.cell_type == "code" for o in c.outputs])
    assert "macro_f1" in text and "random pixels" in text
    assert timings["04_model_training"] > 0


def test_05_labels_attention_and_scores_it_against_the_truth(demo_run):
    import pandas as pd
    import xarray as xr

    cfg, timings = demo_run
    run_dir = cfg.run_dir
    manifest = json.loads((run_dir / "manifest.json").read_text())
    entry = manifest["notebooks"]["05_attention_visualization"]
    assert entry["parameters"]["attribution_samples"] == 16
    att = xr.open_zarr(run_dir / manifest["products"]["attention_ltae"])
    assert att["temporal"].dims == ("sample", "head", "time") and att.sizes["sample"] == 2000
    assert abs(float(att["temporal"].sum("time").mean()) - 1) < 1e-4
    grads = xr.open_zarr(run_dir / manifest["products"]["attributions_ltae"])
    assert grads["attribution"].dims == ("sample", "time", "band")
    peaks = pd.read_parquet(run_dir / manifest["products"]["attention_truth_peaks"])
    assert {"attention", "gradients"} <= set(peaks["source"])
    assert ("winter_soft_wheat", "winter_durum_wheat") in set(zip(peaks["a"], peaks["b"]))
    assert peaks["peak_rank"].between(1, 12).all()
    (summary,) = [r for r in entry["metrics"]["truth_peaks"] if r["source"] == "attention"]
    assert 0 <= summary["hit_rate"] <= 1 and summary["chance"] == 0.25
    # the pair probes: attention contrast and gradients of the logit difference, per pair
    pairs = pd.read_parquet(run_dir / manifest["products"]["attention_pair_peaks"])
    assert set(pairs["probe"]) == {"attention", "gradients"}
    assert (
        pairs["distance"].between(0, 11).all() and (pairs["hit"] == (pairs["distance"] <= 1)).all()
    )
    rates = entry["metrics"]["pair_hit_rates"]
    assert {r["probe"] for r in rates} == {"attention", "gradients"}
    assert all(0 <= r["hit_rate"] <= 1 and 0 < r["chance"] < 1 for r in rates)
    assert timings["05_attention_visualization"] > 0


def test_06_scores_pixels_parcels_and_areas_with_intervals(demo_run):
    import pandas as pd
    import rasterio

    cfg, timings = demo_run
    run_dir = cfg.run_dir
    manifest = json.loads((run_dir / "manifest.json").read_text())
    summary = json.loads((run_dir / manifest["products"]["confusion_summary"]).read_text())
    assert set(summary["models"]) == {"xgboost", "ltae"}
    assert summary["mcnemar"]["models"] == ["xgboost", "ltae"]
    assert 0 <= summary["mcnemar"]["p_value"] <= 1
    for name, row in summary["models"].items():
        assert row["macro_f1_low"] <= row["tier4_macro_f1"] <= row["macro_f1_high"], name
        assert 0 < row["area_weighted_accuracy"] < 1
    scores = pd.read_parquet(run_dir / manifest["products"]["confusion_scores"])
    assert len(scores) == 6  # pixel, parcel vote, parcel mean probability; two models
    areas = pd.read_parquet(run_dir / manifest["products"]["confusion_areas_xgboost"])
    assert (areas["sample"] <= 100).all() and (areas["area_ci95_ha"] >= 0).all()
    assert abs(areas["area_ha"].sum() - areas["mapped_ha"].sum()) < 1e-6
    explained = pd.read_parquet(run_dir / manifest["products"]["confusion_explained_errors"])
    assert "false_declaration" in set(explained.index.get_level_values(-1))
    with rasterio.open(run_dir / manifest["products"]["confusion_errors_ltae"]) as src:
        errors = src.read(1)
    assert set(errors.ravel().tolist()) <= {0, 1, 2, 255} and (errors == 0).sum() > 0
    assert timings["06_confusion_analysis"] > 0


def test_a_notebook_records_its_parameters_as_the_run_used_them():
    from cropkit.config import RunConfig
    from cropkit.face.notebooks import parameter_names
    from cropkit.stages.parameters import TrainingParameters

    names = parameter_names("04")
    assert names[:3] == ["region", "year", "season"] and names[-2:] == ["training", "studies"]
    namespace = {**TrainingParameters.defaults(), "models": ["xgboost"], "cfg": object()}
    params = TrainingParameters.of(namespace)  # what notebook 04 records, with its run's
    recorded = {**params.record(), **RunConfig().parameters()}
    assert set(recorded) == set(names) and recorded["models"] == ["xgboost"]


def test_nothing_the_run_starts_listens_beyond_loopback(demo_run):
    """The API, the database, the kernels and the notebooks' dask clusters: loopback only."""
    from conftest import RUN_LISTENERS
    from sockets import beyond_loopback

    assert len(RUN_LISTENERS) >= 4  # the API, PostgreSQL, kernels, dask: all were watched
    assert beyond_loopback(RUN_LISTENERS) == []
