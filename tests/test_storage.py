import errno
import re

import numpy as np
import pytest
import xarray as xr
from filesystems import tmpfs

from cropkit.core.errors import CropkitError, StorageError
from cropkit.core.storage import (
    check_writable,
    describe_bytes,
    explain_os_failure,
    storage_error,
    storage_errors,
)
from cropkit.core.store import write_zarr


@pytest.mark.parametrize(
    ("code", "says"),
    [
        (errno.ENOSPC, r"the disk is full .*free on the disk that holds .*choose a run root"),
        (errno.EROFS, r"the file system is read-only .*choose a writable run root"),
        (errno.EACCES, r"permission is denied .*may not write"),
        (errno.EMFILE, r"too many open files .*ulimit -n 4096"),
    ],
)
def test_each_refusal_names_the_path_and_the_fix(code, says, tmp_path):
    err = storage_error(OSError(code, "refused", str(tmp_path / "x.zarr")))
    assert isinstance(err, StorageError) and isinstance(err, CropkitError)
    assert isinstance(err, OSError) and err.errno == code
    assert str(tmp_path / "x.zarr") in str(err)
    assert re.search(says, str(err))


def test_a_full_disk_says_how_much_the_product_holds(tmp_path):
    err = storage_error(OSError(errno.ENOSPC, "No space left on device"), tmp_path, 3 * 2**20)
    assert "the product holds 3.0 MB before compression" in str(err)
    assert describe_bytes(1536) == "1.5 KB" and describe_bytes(12) == "12 B"


def test_other_os_errors_pass_through(tmp_path):
    with pytest.raises(FileNotFoundError):
        with storage_errors(tmp_path):
            raise FileNotFoundError(errno.ENOENT, "gone")


def test_an_os_error_known_only_by_its_text_is_explained():
    hint = explain_os_failure("[Errno 28] No space left on device: '/runs/x/s2.zarr'")
    assert hint.startswith("The disk is full: ") and "/runs/x" in hint
    assert explain_os_failure("ValueError: nothing of the kind") is None


def test_a_read_only_run_root_is_refused_before_anything(tmp_path):
    with tmpfs(tmp_path / "ro", 1, read_only=True) as root:
        with pytest.raises(StorageError, match=r"read-only .*--run-root"):
            check_writable(root / "runs")
    assert check_writable(tmp_path / "ok" / "runs").is_dir()


def test_a_product_too_large_for_the_disk_is_a_storage_error_and_leaves_nothing(tmp_path):
    ds = xr.Dataset({"v": (("y", "x"), np.random.default_rng(0).random((1200, 1200)))})
    with tmpfs(tmp_path / "small", 2) as root:
        with pytest.raises(StorageError, match=r"disk is full.*holds 11.0 MB before compression"):
            write_zarr(ds, root / "big.zarr", progress=False)
        assert list(root.iterdir()) == []  # no half store, no temporary left
