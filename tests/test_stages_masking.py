"""Notebook 02's stage: the mask settings later notebooks follow."""

import pytest

from cropkit.core.errors import DataError
from cropkit.core.run import RunFolder
from cropkit.stages.masking import PRODUCTS, mask_settings
from cropkit.stages.parameters import MaskingParameters


def test_mask_settings_come_from_notebook_02(tmp_path):
    run = RunFolder(tmp_path)
    with pytest.raises(DataError, match="Notebook 02_cloud_masking has not run"):
        mask_settings(run)  # no silent default: notebook 03 follows what 02 chose
    chosen = MaskingParameters(keep_classes=[4, 5], buffer_px=3, check_cogs=True)
    run.record("02_cloud_masking", chosen.record())
    assert mask_settings(run) == ([4, 5], 3, True)


def test_the_mask_summary_is_written_under_its_product_names(tmp_path):
    import numpy as np
    import pandas as pd
    import xarray as xr

    from cropkit.stages.masking import save_mask_summary

    fraction = xr.DataArray(np.array([0.5, 1.0]), dims="time")
    count = xr.DataArray(np.array([[1, 2]], dtype="uint16"), dims=("y", "x"))
    scores = pd.DataFrame({"precision": [0.91234]}, index=pd.Index([0], name="buffer_px"))
    products = save_mask_summary(RunFolder(tmp_path), fraction, count, scores)
    assert {k: p.name for k, p in products.items()} == PRODUCTS
    assert xr.open_zarr(products["cloudmask"])["valid_count"].values.tolist() == [[1, 2]]
    assert pd.read_csv(products["cloudmask_scores"])["precision"].tolist() == [0.9123]


def test_the_summary_of_notebook_02_matches_each_computation_alone():
    import numpy as np
    import xarray as xr

    from cropkit import cloudmask
    from cropkit.stages.masking import MaskedS2, mask_summary

    codes = np.array([[[4, 9], [5, 0]], [[8, 8], [4, 4]], [[6, 3], [7, 4]]], dtype="uint8")
    scl = xr.DataArray(codes, dims=("time", "y", "x")).chunk({"time": 1})
    clear = cloudmask.clear_mask(scl)
    s2 = MaskedS2(scl.astype("float32"), scl, clear, items=[])
    breakdown, fraction, count = mask_summary(s2)
    assert fraction.values.tolist() == [2 / 3, 0.5, 0.75]  # no-data (0) is not counted
    assert count.values.tolist() == [[2, 0], [3, 2]]  # 3 (shadow) is not clear
    xr.testing.assert_equal(breakdown, cloudmask.class_breakdown(scl).compute())
