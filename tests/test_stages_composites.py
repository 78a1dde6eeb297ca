"""Notebook 03's stage: composite names, the period later notebooks read, the grid check."""

import pytest

from cropkit.config import RunConfig
from cropkit.core.errors import DataError
from cropkit.core.run import RunFolder


def test_composites_of_another_study_area_are_refused(tmp_path):
    import numpy as np
    import xarray as xr

    from cropkit.core.store import write_zarr
    from cropkit.stages.composites import load_composites

    cfg = RunConfig(run_root=str(tmp_path))
    run = RunFolder.for_config(cfg)
    xmin, ymin, xmax, ymax = cfg.grid.bounds

    def composite(width_px):
        x = xmin + 5 + 10 * np.arange(width_px)
        y = ymax - 5 - 10 * np.arange(cfg.grid.shape[0])
        data = np.zeros((1, y.size, x.size), dtype="float32")
        return xr.Dataset({"median": (("period", "y", "x"), data)}, coords={"x": x, "y": y})

    write_zarr(composite(cfg.grid.shape[1]), run.path / "s2_composite.zarr", progress=False)
    assert load_composites(cfg, run, ["s2"])["s2"].sizes["x"] == cfg.grid.shape[1]
    write_zarr(composite(64), run.path / "s2_composite.zarr", progress=False)
    with pytest.raises(DataError, match="covers another study area.*another run_root"):
        load_composites(cfg, run, ["s2"])
    with pytest.raises(DataError, match="Unknown input 's3'"):
        load_composites(cfg, run, ["s3"])
    # notebook 04 has no period: it reads the one notebook 03 composited with
    half_month = composite(cfg.grid.shape[1]).assign(flag=1)
    write_zarr(half_month, run.path / "s2_composite_half-month.zarr", progress=False)
    run.record("03_composites", {"period": "half-month"})
    assert "flag" in load_composites(cfg, run, ["s2"])["s2"]


def test_composite_names_follow_the_period_except_enmap(tmp_path):
    from cropkit.stages.composites import composite_path, compositing_period

    run = RunFolder(tmp_path)
    assert composite_path(run, "s2").name == "s2_composite.zarr"
    assert composite_path(run, "s1", "10-day").name == "s1_composite_10-day.zarr"
    assert composite_path(run, "enmap", "10-day").name == "enmap_clearest.zarr"
    assert compositing_period(run) == "month"
    run.record("03_composites", {"period": "10-day"})
    assert compositing_period(run) == "10-day"


def test_a_sensor_the_provider_lacks_is_skipped_with_a_note(tmp_path):
    from cropkit.access.providers import SensorSkippedWarning
    from cropkit.core.run import RunFolder
    from cropkit.stages.composites import composite_products, offers

    es = RunConfig(stac="demo:earth-search", run_root=str(tmp_path))
    assert offers(es, "s2")
    with pytest.warns(SensorSkippedWarning, match=r"offers no Sentinel-1 RTC: notebook 03_comp"):
        assert not offers(es, "s1")
    run = RunFolder(tmp_path)
    assert composite_products(run, es) == {"s2_composite": tmp_path / "s2_composite.zarr"}
    assert sorted(composite_products(run, RunConfig(), "10days")) == [
        "enmap_clearest",
        "s1_composite",
        "s2_composite",
    ]
