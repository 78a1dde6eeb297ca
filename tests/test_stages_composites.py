"""Notebook 03's stage: composite names, the period later notebooks read, the grid check."""

import pytest

from cropkit.config import RunConfig
from cropkit.core.errors import DataError
from cropkit.core.run import RunFolder


def test_composites_of_another_study_area_are_refused(tmp_path):
    import numpy as np
    import xarray as xr

    from cropkit.core.store import write_zarr
    from cropkit.endpoint import RunSource
    from cropkit.stages.composites import load_composites
    from cropkit.stages.parameters import CompositeParameters

    cfg = RunConfig(run_root=str(tmp_path))
    run, source = RunFolder.for_config(cfg), RunSource(cfg)  # no STAC: the stores exist
    xmin, ymin, xmax, ymax = cfg.grid.bounds

    def composite(width_px):
        x = xmin + 5 + 10 * np.arange(width_px)
        y = ymax - 5 - 10 * np.arange(cfg.grid.shape[0])
        data = np.zeros((1, y.size, x.size), dtype="float32")
        return xr.Dataset({"median": (("period", "y", "x"), data)}, coords={"x": x, "y": y})

    write_zarr(composite(cfg.grid.shape[1]), run.path / "s2_composite.zarr", progress=False)
    month = load_composites(source, run, ["s2"], period="month")["s2"]
    assert month.sizes["x"] == cfg.grid.shape[1]
    write_zarr(composite(64), run.path / "s2_composite.zarr", progress=False)
    with pytest.raises(DataError, match="covers another study area.*another run_root"):
        load_composites(source, run, ["s2"], period="month")
    with pytest.raises(DataError, match="Unknown input 's3'"):
        load_composites(source, run, ["s3"], period="month")
    # notebook 04 has no period: it reads the one notebook 03 composited with, or says so
    with pytest.raises(DataError, match="Notebook 03_composites has not run"):
        load_composites(source, run, ["s2"])
    half_month = composite(cfg.grid.shape[1]).assign(flag=1)
    write_zarr(half_month, run.path / "s2_composite_half-month.zarr", progress=False)
    run.record("03_composites", CompositeParameters(period="half-month").record())
    assert "flag" in load_composites(source, run, ["s2"])["s2"]


def test_composite_names_follow_the_period_except_enmap(tmp_path):
    from cropkit.stages.composites import composite_path, compositing_period
    from cropkit.stages.parameters import CompositeParameters

    run = RunFolder(tmp_path)
    assert composite_path(run, "s2").name == "s2_composite.zarr"
    assert composite_path(run, "s1", "10-day").name == "s1_composite_10-day.zarr"
    assert composite_path(run, "enmap", "10-day").name == "enmap_clearest.zarr"
    with pytest.raises(DataError, match="Notebook 03_composites has not run"):
        compositing_period(run)
    run.record("03_composites", CompositeParameters(period="10-day").record())
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
