"""Datasets in the run folder: ``<run>/datasets/<name>.zarr``.

Written compact (int16 with a scale), read back as float32.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from ..core.errors import DataError
from ..core.store import open_zarr, write_zarr
from ..core.taxonomy import TIERS

if TYPE_CHECKING:
    from ..core.run import RunFolder

__all__ = ["COMPACT", "save_dataset", "open_dataset"]


#: On-disk encoding of the streams: int16 with a scale (reflectance to 1e-4, as the
#: Sentinel-2 L2A products store it; backscatter to 0.01 dB), decoded to float32 on read.
COMPACT = {
    "s2": {"dtype": "int16", "scale_factor": np.float32(1e-4), "_FillValue": -32768},
    "enmap": {"dtype": "int16", "scale_factor": np.float32(1e-4), "_FillValue": -32768},
    "s1": {"dtype": "int16", "scale_factor": np.float32(0.01), "_FillValue": -32768},
}


def save_dataset(ds: xr.Dataset, run: RunFolder, name: str = "pixels") -> Path:
    """Write a dataset to ``<run>/datasets/<name>.zarr`` (replacing an older one).

    The store records its streams, sample count, test zones and patch size; replacing
    one that differs warns with the change (:class:`cropkit.core.store.ProductReplacedWarning`).
    The streams are stored compact (:data:`COMPACT`: int16 with a scale factor, half
    the bytes of float32), labels as int16; :func:`open_dataset` gives float32 back.
    """
    folder = Path(run.path if hasattr(run, "path") else run) / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    ds = ds.copy()
    for stream, encoding in COMPACT.items():
        if stream in ds:
            ds[stream].encoding.update(encoding)
    for tier in TIERS:
        if tier in ds:
            ds[tier] = ds[tier].astype(np.int16)
    settings = {  # what it holds: a replacement with fewer streams or samples is named
        "streams": [stream for stream in ("s2", "s1", "enmap") if stream in ds],
        "samples": int(ds.sizes.get("sample", ds.sizes.get("patch", 0))),
        **{key: ds.attrs[key] for key in ("test_zones", "size") if key in ds.attrs},
    }
    return write_zarr(ds, folder / f"{name}.zarr", progress=False, settings=settings)


def open_dataset(run: RunFolder, name: str = "pixels") -> xr.Dataset:
    """Open ``<run>/datasets/<name>.zarr``; says which notebook makes it if missing."""
    path = Path(run.path if hasattr(run, "path") else run) / "datasets" / f"{name}.zarr"
    if not path.exists():
        raise DataError(f"{path} does not exist yet: run notebook 04_model_training first.")
    ds = open_zarr(path, remedy="rerun notebook 04_model_training")
    for stream in COMPACT:  # the scale factor decodes to float64; streams are float32
        if stream in ds:
            ds[stream] = ds[stream].astype(np.float32)
    return ds
