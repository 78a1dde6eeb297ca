"""PyTorch views of the cropkit datasets, with class weights and a balanced sampler.

:class:`PixelTimeSeries` serves one labelled pixel at a time as tensors
``x (T, C)``, ``doy (T,)``, ``valid (T,)`` and the labels of every tier;
:class:`PatchTimeSeries` serves windows ``x (T, C, H, W)`` for spatial models. Inputs
are standardised with statistics of the training samples (:func:`channel_stats`), so
validation and test never leak into them.

Examples
--------
>>> stats = channel_stats(train_ds, inputs=("s2", "s1"))               # doctest: +SKIP
>>> loader = make_loader(PixelTimeSeries(train_ds, stats), balanced=True) # doctest: +SKIP
>>> batch = next(iter(loader)); batch["x"].shape                        # doctest: +SKIP
torch.Size([256, 12, 12])
"""

from __future__ import annotations

import numpy as np
import torch
import xarray as xr
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

from .datasets import class_weights
from .errors import DataError
from .taxonomy import TIERS

__all__ = [
    "channel_stats",
    "PixelTimeSeries",
    "PatchTimeSeries",
    "loss_weights",
    "balanced_sampler",
    "make_loader",
]


def _stack_inputs(ds: xr.Dataset, inputs: tuple[str, ...], channel_axis: int) -> np.ndarray:
    missing = [name for name in inputs if name not in ds]
    if missing:
        raise DataError(f"The dataset has no {missing} inputs; it holds {list(ds.data_vars)}.")
    return np.concatenate(
        [np.asarray(ds[name].values, dtype=np.float32) for name in inputs], axis=channel_axis
    )


def channel_stats(ds: xr.Dataset, inputs: tuple[str, ...] = ("s2",)) -> dict:
    """Mean and standard deviation per channel over the samples of ``ds`` (train only).

    Parameters
    ----------
    ds : xarray.Dataset
        Pixel or patch dataset (the training side).
    inputs : tuple of str
        Time-series inputs stacked along channels (``"s2"``, ``"s1"``); ``"enmap"``
        adds per-wavelength statistics for the separate ``enmap`` tensor.

    Returns
    -------
    dict
        ``{"mean": (C,), "std": (C,), "inputs": ...}`` with channels in stacking order,
        plus ``enmap_mean`` and ``enmap_std`` ``(W,)`` when asked.
    """
    series = tuple(name for name in inputs if name != "enmap")
    x = _stack_inputs(ds, series, 2)
    moved = np.moveaxis(x, 2, -1).reshape(-1, x.shape[2])
    stats = {"inputs": series, **_mean_std(moved, "")}
    if "enmap" in inputs:
        stats.update(_mean_std(_stack_inputs(ds, ("enmap",), 1), "enmap_"))
    return stats


def _mean_std(values: np.ndarray, prefix: str) -> dict[str, np.ndarray]:
    std = np.maximum(np.nanstd(values, axis=0), 1e-6)
    return {
        f"{prefix}mean": np.nanmean(values, axis=0).astype(np.float32),
        f"{prefix}std": std.astype(np.float32),
    }


def _standardise(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.nan_to_num((x - mean) / std, nan=0.0).astype(np.float32))


class PixelTimeSeries(Dataset):
    """Labelled pixel time series for PyTorch.

    Parameters
    ----------
    ds : xarray.Dataset
        A pixel dataset (one split side: :func:`cropkit.datasets.select_split`).
    stats : dict
        From :func:`channel_stats` on the training side; fixes the inputs and scaling.
    tier : str
        Tier of the ``y`` target.

    Items are dicts of tensors: ``x`` ``(T, C)`` float32 (NaN set to 0 after
    standardising), ``doy`` ``(T,)`` int64, ``valid`` ``(T,)`` bool, ``y`` () int64,
    ``y_tiers`` ``(4,)`` int64 (tier 4 to tier 1), ``parcel`` () int64, and ``enmap``
    ``(W,)`` float32 when ``stats`` has EnMAP statistics.
    """

    def __init__(self, ds: xr.Dataset, stats: dict, tier: str = "tier4") -> None:
        if tier not in TIERS:
            raise DataError(f"tier must be one of {TIERS}, not {tier!r}.")
        self.x = _standardise(_stack_inputs(ds, stats["inputs"], 2), stats["mean"], stats["std"])
        self.enmap = None
        if "enmap_mean" in stats:
            enmap = _stack_inputs(ds, ("enmap",), 1)
            self.enmap = _standardise(enmap, stats["enmap_mean"], stats["enmap_std"])
        self.doy = torch.as_tensor(ds["doy"].values.astype(np.int64))
        self.valid = torch.from_numpy(ds["valid"].values.astype(bool))
        self.y_tiers = torch.from_numpy(np.stack([ds[t].values for t in TIERS], 1).astype(np.int64))
        self.y = self.y_tiers[:, TIERS.index(tier)]
        self.parcel = torch.from_numpy(ds["parcel"].values.astype(np.int64))

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        item = {
            "x": self.x[i],
            "doy": self.doy,
            "valid": self.valid[i],
            "y": self.y[i],
            "y_tiers": self.y_tiers[i],
            "parcel": self.parcel[i],
        }
        if self.enmap is not None:
            item["enmap"] = self.enmap[i]
        return item


class PatchTimeSeries(Dataset):
    """Windows of a patch dataset for PyTorch.

    Items: ``x`` ``(T, C, H, W)`` float32, ``doy`` ``(T,)``, ``valid`` ``(T, H, W)`` bool,
    ``y`` ``(H, W)`` int64 with ``-1`` for unlabelled pixels.
    """

    def __init__(self, ds: xr.Dataset, stats: dict, tier: str = "tier4") -> None:
        shape = (1, 1, -1, 1, 1)
        x = _stack_inputs(ds, stats["inputs"], 2)
        self.x = _standardise(x, stats["mean"].reshape(shape), stats["std"].reshape(shape))
        self.doy = torch.as_tensor(ds["doy"].values.astype(np.int64))
        self.valid = torch.from_numpy(ds["valid"].values.astype(bool))
        self.y = torch.from_numpy(ds[tier].values.astype(np.int64))

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "doy": self.doy, "valid": self.valid[i], "y": self.y[i]}


def loss_weights(y, n_classes: int, power: float = 0.5) -> torch.Tensor:
    """Class weights for ``torch.nn.CrossEntropyLoss(weight=...)``, dims ``(n_classes,)``."""
    return torch.from_numpy(class_weights(np.asarray(y), n_classes, power))


def balanced_sampler(
    y, power: float = 1.0, num_samples: int | None = None, seed: int = 0
) -> WeightedRandomSampler:
    """Draw samples with probability ``1 / n_c ** power`` so rare classes come up as often.

    Parameters
    ----------
    y : array-like
        Class of each sample, dims ``(sample,)``.
    power : float
        1 gives every class the same expected share of draws; 0 is plain shuffling.
    num_samples : int, optional
        Draws per epoch (the dataset size by default).
    seed : int
        Seed of the draws.
    """
    y = np.asarray(y)
    counts = np.bincount(y[y >= 0])
    weights = np.where(y >= 0, 1.0 / np.maximum(counts[np.clip(y, 0, None)], 1) ** power, 0.0)
    generator = torch.Generator().manual_seed(seed)
    return WeightedRandomSampler(
        torch.as_tensor(weights, dtype=torch.double),
        num_samples or len(y),
        replacement=True,
        generator=generator,
    )


def make_loader(
    dataset: Dataset,
    batch_size: int = 256,
    balanced: bool = False,
    shuffle: bool = True,
    num_workers: int = 0,
    seed: int = 0,
) -> DataLoader:
    """A DataLoader, drawing class-balanced batches when ``balanced``."""
    if balanced and dataset.y.ndim > 1:
        raise DataError(
            "A balanced sampler draws samples by their class, and patches have a class per "
            "pixel: use balanced=False with patches (and class weights in the loss)."
        )
    sampler = balanced_sampler(dataset.y.numpy(), seed=seed) if balanced else None
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        shuffle=shuffle and sampler is None,
        num_workers=num_workers,
        generator=generator,
    )
