"""The benchmarks of the loading path (the STAC API, items to composites, GDAL's options,
a zone larger than memory) in their --smoke mode: a file of their own, so that pytest-xdist
runs them beside the other benchmarks (``make test``: a test file per worker)."""

import pytest
from test_benchmarks import smoke


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
    assert out["medians_compared"]["odc_stac"]["months"] == 12
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
