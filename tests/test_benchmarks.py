"""Every benchmark runs here in its --smoke mode (tiny data and budgets) and prints the
fields the README quotes, so a refactor cannot break one unseen."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORLDCEREAL = ROOT.parent / "shared/data/worldcereal/public_extractions_2017_SSD_UGA.parquet"


def smoke(script: str, *args: str) -> dict:
    """Run ``benchmarks/<script> --smoke`` and return its final JSON line.

    The demo is built in the session's private cache (``$CROPKIT_CACHE_DIR``), once.
    """
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--smoke", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    return json.loads(last[last.index("{") :])  # after a progress bar's carriage returns


def test_every_benchmark_is_run_here():
    scripts = {p.name for p in (ROOT / "benchmarks").glob("*.py") if not p.name.startswith("_")}
    tested = {name for name in scripts if f'"{name}"' in Path(__file__).read_text()}
    assert scripts == tested, scripts - tested


def within(value, low=0.0, high=1.0) -> bool:
    return low <= value <= high


def test_bench_demo_times_each_stage():
    out = smoke("bench_demo.py")
    assert out["shape"] == [64, 64] and out["seconds"] > 0
    assert set(out["stages"]) == {"landscape", "prosail_lut", "imagery", "stac"}
    assert out["items"]["sentinel-2-c1-l2a"] > 20


@pytest.mark.server
def test_bench_server_times_start_search_and_range_reads(stac_server):
    out = smoke("bench_server.py")
    for key in ("start_s", "load_s", "search_s", "stop_s", "range_request_ms"):
        assert out[key] > 0, key
    assert out["rounds"] == 1 and out["files"] == 50 and out["mean_cog_kib"] > 8


@pytest.mark.server
def test_bench_composite_equals_groupby_and_reports_the_speedup(stac_server):
    out = smoke("bench_composite.py")
    assert out["identical_values"] is True and out["speedup"] > 1
    assert out["peak_mib_cropkit"] < out["peak_mib_groupby"]


@pytest.mark.server
def test_bench_pipeline_reports_cropkit_both_peers_and_both_floors(stac_server):
    out = smoke("bench_pipeline.py")
    assert out["same_medians"] == {"stackstac": True, "odc_stac": True}
    assert out["composite_periods"] == 2  # the smoke runs' two months
    assert out["medians_compared"]["odc_stac"]["months"] == 2
    for key in ("disk_floor_s", "http_floor_s", "cropkit_s"):
        assert out[key] > 0, key
    for peer in ("stackstac", "odc_stac"):
        assert out[f"{peer}_s"] > 0 and out[f"{peer}_tasks"] > out["cropkit_tasks"]
    # the ratios are of the unrounded times: the printed (rounded) ones agree to 0.1
    ratio = out["cropkit_s"] / out["http_floor_s"]
    assert out["cropkit_over_http_floor"] == pytest.approx(ratio, abs=0.1)
    # the floor asks for the bytes cropkit reads with fewer requests (no HEAD)
    assert out["files"] <= out["http_floor_requests"] < out["cropkit_requests"]
    assert out["http_floor_bytes_per_pixel"] > 0 and out["cropkit_bytes_per_pixel"] > 0
    assert out["cropkit_opens_per_file"] == 1.0  # each file opened once by the process
    spent = out["cropkit_task_seconds"]  # the report run's threads, by kind of task
    assert any("fetch_raster_window" in kind for kind in spent)  # (fused on one tile)
    assert "period_block" in spent and len(spent) == 7  # the six largest and the rest
    assert all(seconds >= 0 for seconds in spent.values())


@pytest.mark.server
def test_gdal_options_times_each_setting_in_a_fresh_process(stac_server):
    out = smoke("gdal_options.py")
    assert out["repeat"] == 1 and list(out)[3:] == ["defaults", "header 64 KiB"]
    for name in ("defaults", "header 64 KiB"):
        row = out[name]
        assert len(row["seconds"]) == 1 and row["mean_s"] == row["seconds"][0] > 0
        assert row["requests"] > 0 and row["mb"] > 0
    # the same files either way; a larger first read needs no more requests
    assert out["header 64 KiB"]["requests"] <= out["defaults"]["requests"]


@pytest.mark.server
def test_large_zone_reports_time_and_peak_memory(stac_server):
    out = smoke("large_zone.py")
    assert out["shape"]["band"] == 10 and out["seconds"] > 0
    assert 0 < out["peak_cluster_memory_gb"] < 2


@pytest.mark.server
def test_demo_difficulty_reports_every_table_of_the_readme(stac_server, smoke_run_root):
    out = smoke("demo_difficulty.py", "--run-root", smoke_run_root)
    assert out["parcels"] > 5 and out["pixels"] > 1000
    assert list(out["tiers"]) == ["tier4", "tier3", "tier2", "tier1"]
    assert all(within(row["macro_f1"]) for row in out["tiers"].values())
    assert {"S2", "S2 + S1", "S2 + EnMAP"} <= set(out["inputs"])
    assert {"spatial", "random"} <= {k.split()[0] for k in out["leakage"]}
    assert "radar gain" in next(iter(out["clouds"].values()))


@pytest.mark.server
def test_bench_train_reports_loader_and_every_model(stac_server, smoke_run_root):
    out = smoke("bench_train.py", "--run-root", smoke_run_root)
    assert out["loader"]["loader_speedup"] > 1
    assert set(out["models"]) == {"xgboost", "ltae", "attention3dcnn"}
    for name, row in out["models"].items():
        assert list(row["macro_f1"]) == ["tier4", "tier3", "tier2", "tier1"], name
        assert within(row["overall_accuracy_tier4"]) and row["zone_inference_seconds"] > 0
    assert out["models"]["ltae"]["epochs"] == 1 and out["models"]["ltae"]["parameters"] > 1000


@pytest.mark.server
def test_source_claims_reports_each_claim(stac_server, smoke_run_root):
    out = smoke("source_claims.py", "--run-root", smoke_run_root)
    radar = out["radar_under_cloud"]
    assert set(radar["radar_gain"]) == {"clear", "cloudy summer (Jun-Aug)"}
    assert isinstance(radar["radar_gains_more_under_cloud"], bool)
    enmap = out["hyperspectral"]
    assert set(enmap["enmap_gain_points"]) == {"tier4", "tier3", "tier2", "tier1"}
    assert within(enmap["S2"]["tier_agreement"]["all"])


@pytest.mark.server
def test_bench_dual_stream_profiles_both_inputs(stac_server, smoke_run_root):
    out = smoke("bench_dual_stream.py", "--run-root", smoke_run_root)
    fused, alone = out["s2+enmap"], out["s2"]
    assert fused["enmap_tokens"] == {"spectral": 15, "pixels": 144}
    assert fused["enmap_regions"][:3] == ["blue", "green", "red"]
    assert fused["parameters"] > alone["parameters"] and "enmap_stream_s" not in alone
    assert out["step_ratio"] == pytest.approx(fused["step_s"] / alone["step_s"], abs=0.01)
    assert all(v > 0 for v in (fused["enmap_stream_s"], alone["s2_stream_s"]))


@pytest.mark.server
def test_pair_probes_score_each_probe_against_chance(stac_server, smoke_run_root):
    out = smoke("pair_probes.py", "--run-root", smoke_run_root, "--models", "ltae,dual_stream")
    assert out["pairs_scored"] >= 1 and set(out["macro_f1_tier4"]) == {"ltae", "dual_stream"}
    for row in out["hit_rates"]:
        assert row["probe"] in {"attention", "gradients"} and 0 < row["chance"] < 0.5
        assert row["low"] <= row["hit_rate"] <= row["high"] and within(row["p_value"])
        assert row["high"] < 1 or row["hits"] == row["trials"]  # a two-sided interval
        assert row["hits"] == round(row["hit_rate"] * row["trials"])


@pytest.mark.skipif(
    not WORLDCEREAL.exists() and not os.environ.get("CROPKIT_REQUIRE_SHARED"),  # CI has it
    reason="the shared WorldCereal table is absent",
)
def test_bench_parcels_reports_every_figure_the_readme_quotes():
    out = smoke("bench_parcels.py")
    assert out["samples"] == 500 and out["folds"] == 3 and out["seeds"] == 1
    for budget in ("epochs", "minutes"):
        deep = out["models"]["tempcnn"][budget]
        assert 0 <= deep["f1_tier4"]["mean"] <= 1 and deep["f1_tier4"]["sd"] >= 0
        assert len(deep["by_fold_f1_tier4"]) == 3 and deep["epochs"]["max"] >= 1
        assert set(deep["stopped_by"]) <= {"epochs", "time_budget", "early_stopping", "time_cap"}
        versus = out["vs_xgboost"][f"tempcnn ({budget})"]
        assert versus["low"] <= versus["mean"] <= versus["high"]
        assert versus["verdict"] in ("higher", "lower", "inconclusive")
    assert out["models"]["xgboost"]["epochs"]["stopped_by"] == {"boosting rounds": 3}


def test_bench_study_times_pooling_and_the_units(stac_server, smoke_run_root):
    out = smoke("bench_study.py", "--run-root", smoke_run_root)
    assert out["runs"] == 2 and out["units"] == 4 and out["samples"]["pixel"] > 0
    assert out["pool_seconds"] > 0 and out["pooled_mb"] > 0
    assert out["peak_over_pooled"] < 2  # the pooled copy, filled from one stored chunk at a time
    streamed = out["streamed"]  # pooled into a store, and an epoch read from it
    assert streamed["same_batches"] and streamed["epoch_seconds_store"] > 0
    assert streamed["pool_peak_mb"] < 2 * out["pooled_mb"]
    assert {d["verdict"] for d in out["differences"]} <= {
        "reproduced",
        "contradicted",
        "inconclusive",
    }
