"""Around a Lightning fit: quiet logs, DDP strategy, validation subset, history, clean-up."""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..datasets.sampling import balanced_subsample

#: Lightning messages that say nothing to a cropkit user (the folders are cropkit's own).
QUIET = ("Checkpoint directory", "LeafSpec", "litlogger", "sync_dist=True", "no `val_dataloader`")


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not any(text in record.getMessage() for text in QUIET)


NOISE = _DropNoise()

#: Loggers of Lightning's start and stop notes ("GPU available: ...", "`Trainer.fit` stopped").
_CHATTY = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero")


@contextmanager
def quiet_lightning(quiet: bool = True):
    """Hold back Lightning's informational notes while a fit runs (warnings still show)."""
    if not quiet:
        yield
        return
    loggers = [logging.getLogger(name) for name in _CHATTY]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for log, level in zip(loggers, levels):
            log.setLevel(level)


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel."""
    return "ipykernel" in sys.modules


def ddp_strategy(devices: int) -> str:
    """Lightning strategy for ``devices``: the notebook-safe DDP inside Jupyter."""
    if devices == 1:
        return "auto"
    return "ddp_notebook" if in_notebook() else "ddp"


def val_subset(ds: xr.Dataset, max_samples: int, seed: int) -> xr.Dataset:
    """A class-balanced subsample of the validation pixels (patches kept whole)."""
    if "sample" not in ds.dims or not max_samples or ds.sizes["sample"] <= max_samples:
        return ds
    keep = balanced_subsample(ds["tier4"].values, max_samples, seed)
    return ds.isel(sample=np.sort(keep))


def read_history(path: Path) -> pd.DataFrame:
    """One row per epoch from Lightning's CSV log."""
    if not path.exists():
        return pd.DataFrame()
    log = pd.read_csv(path)
    return log.groupby("epoch", as_index=False).first() if "epoch" in log else log


def best_epoch(history: pd.DataFrame) -> int | None:
    """Epoch of the best validation F1 (None without validation)."""
    if "val_f1" not in history or history["val_f1"].isna().all():
        return None
    return int(history.loc[history["val_f1"].idxmax(), "epoch"])


def remove_tree(folder: Path) -> None:
    """Delete ``folder`` and what it holds, if it exists."""
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
