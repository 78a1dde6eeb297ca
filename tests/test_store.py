import numpy as np
import pytest
import xarray as xr
from affine import Affine

from cropkit.core.errors import DamagedProductError, DataError
from cropkit.core.store import (
    ProductRebuiltWarning,
    ProductReplacedWarning,
    cached_zarr,
    open_zarr,
    recorded_settings,
    replacing,
    write_zarr,
)


def test_round_trip_drops_unserialisable_attributes(tmp_path):
    ds = xr.Dataset({"a": (("y", "x"), np.arange(6.0).reshape(2, 3))}, attrs={"crs": "EPSG:32631"})
    ds["a"].attrs = {"transform": Affine.identity(), "units": "1"}
    write_zarr(ds, tmp_path / "s.zarr")
    back = open_zarr(tmp_path / "s.zarr")
    np.testing.assert_array_equal(back["a"].values, ds["a"].values)
    assert back.attrs["crs"] == "EPSG:32631" and back["a"].attrs == {"units": "1"}
    assert [p.name for p in tmp_path.iterdir()] == ["s.zarr"]  # no temporary left


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


def test_a_store_cut_short_by_an_older_writer_is_named_and_rebuilt(tmp_path):
    # what two writers sharing one temporary path left: a final-named store with one
    # chunk and no metadata, which zarr opens with a bare GroupNotFoundError
    path = tmp_path / "s2_composite.zarr"
    (path / "median").mkdir(parents=True)
    (path / "median" / "0.0.0").write_bytes(b"x" * 64)
    with pytest.raises(DamagedProductError, match="s2_composite.zarr is incomplete or damaged"):
        open_zarr(path, remedy="rerun notebook 03_composites")
    with pytest.warns(ProductRebuiltWarning, match="Building it again"):
        back = cached_zarr(path, lambda: xr.Dataset({"v": ("t", [4.0, 5.0])}))
    assert back["v"].values.tolist() == [4.0, 5.0]


def test_a_product_made_with_other_settings_says_what_changed(tmp_path):
    path = tmp_path / "pixels.zarr"
    ds = xr.Dataset({"v": ("t", [1.0])})
    write_zarr(ds, path, settings={"inputs": ["s2", "s1", "enmap"], "patch_size": 32})
    assert recorded_settings(path) == {"inputs": ["s2", "s1", "enmap"], "patch_size": 32}
    with pytest.warns(ProductReplacedWarning, match=r"inputs: \['s2', 's1', 'enmap'\] -> \['s2'\]"):
        write_zarr(ds, path, settings={"inputs": ["s2"], "patch_size": 32})
    assert recorded_settings(path)["inputs"] == ["s2"]


def test_a_failed_write_leaves_the_old_product_and_no_temporary(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text("old")
    with pytest.raises(RuntimeError), replacing(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
    with replacing(path) as tmp:
        tmp.write_text("new")
    assert path.read_text() == "new"


def test_a_cached_product_made_otherwise_is_built_again_and_the_change_named(tmp_path):
    path = tmp_path / "s2_composite.zarr"
    made = []

    def make():
        made.append(1)
        return xr.Dataset({"v": ("t", [float(len(made))])})

    monthly = {"period": "month", "buffer_px": 1}
    assert cached_zarr(path, make, settings=monthly)["v"].values.tolist() == [1.0]
    assert cached_zarr(path, make, settings=monthly)["v"].values.tolist() == [1.0]  # reused
    with pytest.warns(ProductReplacedWarning, match="buffer_px: 1 -> 3"):
        again = cached_zarr(path, make, settings={"period": "month", "buffer_px": 3})
    assert again["v"].values.tolist() == [2.0] and len(made) == 2
