import numpy as np
import pytest
import xarray as xr
from affine import Affine

from cropkit.errors import DataError
from cropkit.store import cached_zarr, open_zarr, write_zarr


def test_round_trip_drops_unserialisable_attributes(tmp_path):
    ds = xr.Dataset({"a": (("y", "x"), np.arange(6.0).reshape(2, 3))}, attrs={"crs": "EPSG:32631"})
    ds["a"].attrs = {"transform": Affine.identity(), "units": "1"}
    write_zarr(ds, tmp_path / "s.zarr")
    back = open_zarr(tmp_path / "s.zarr")
    np.testing.assert_array_equal(back["a"].values, ds["a"].values)
    assert back.attrs["crs"] == "EPSG:32631" and back["a"].attrs == {"units": "1"}
    assert not (tmp_path / ".s.zarr.tmp").exists()


def test_cached_store_is_reused_unless_overwritten(tmp_path):
    calls = []

    def make():
        calls.append(1)
        return xr.Dataset({"v": ("t", np.full(3, float(len(calls))))})

    path = tmp_path / "c.zarr"
    assert cached_zarr(path, make)["v"].values.tolist() == [1.0] * 3
    assert cached_zarr(path, make)["v"].values.tolist() == [1.0] * 3
    assert cached_zarr(path, make, overwrite=True)["v"].values.tolist() == [2.0] * 3
    assert len(calls) == 2


def test_missing_or_incomplete_stores_are_explained(tmp_path):
    with pytest.raises(DataError, match="run the notebook that makes it"):
        open_zarr(tmp_path / "nope.zarr")
    xr.Dataset({"v": ("t", [1.0])}).to_zarr(
        tmp_path / "half.zarr", consolidated=True, zarr_format=2
    )
    with pytest.raises(DataError, match="incomplete"):
        open_zarr(tmp_path / "half.zarr")
