"""Batches for training: which samples each batch holds, drawn whole by index.

:class:`BatchIndexSampler` draws an epoch's indices (shuffled, class-balanced or in
order; sharded over DDP ranks; the same order for the same seed and epoch, so a resumed
fit sees the same batches) and :func:`make_loader` serves whole batches of a
:class:`cropkit.datasets.torchdata.TensorStreams` by those indices (one gather per tensor).
"""

from __future__ import annotations

import math

import torch
from torch.utils.data import DataLoader, Dataset

from ..core.errors import DataError

__all__ = ["BatchIndexSampler", "balanced_weights", "make_loader"]


class BatchIndexSampler:
    """Index batches for one epoch: shuffled, class-balanced or in order; DDP-aware.

    Parameters
    ----------
    n : int
        Dataset size.
    batch_size : int
        Samples per batch.
    shuffle : bool
        Random order (else ``0 .. n-1``).
    weights : torch.Tensor, optional
        Draw ``num_samples`` with replacement with these probabilities (balanced
        sampling) instead of a permutation.
    num_samples : int, optional
        Draws per epoch (the dataset size by default).
    seed : int
        The order of epoch ``e`` depends on ``seed`` and ``e`` only, so a resumed run
        sees the same batches as an uninterrupted one.

    Notes
    -----
    Under ``torch.distributed`` each rank takes every ``world_size``-th index of the
    epoch's draw, padded so that every rank gets the same number of batches.
    """

    def __init__(
        self,
        n: int,
        batch_size: int,
        shuffle: bool = True,
        weights: torch.Tensor | None = None,
        num_samples: int | None = None,
        seed: int = 0,
    ) -> None:
        if batch_size < 1:
            raise DataError(f"batch_size must be a positive integer, not {batch_size!r}.")
        self.n, self.batch_size, self.shuffle = int(n), int(batch_size), shuffle
        self.weights = weights
        self.num_samples = int(num_samples or n)
        self.seed, self.epoch = int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration draw the order of ``epoch`` (Lightning calls this)."""
        self.epoch = int(epoch)

    def _world(self) -> tuple[int, int]:
        dist = torch.distributed
        if dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
        return 0, 1

    def _epoch_indices(self) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        if self.weights is not None:
            return torch.multinomial(self.weights, self.num_samples, True, generator=generator)
        if self.shuffle:
            return torch.randperm(self.n, generator=generator)
        return torch.arange(self.n)

    def __iter__(self):
        indices = self._epoch_indices()
        rank, world = self._world()
        if world > 1:
            total = -(-len(indices) // world) * world
            indices = torch.cat([indices, indices[: total - len(indices)]])[rank::world]
        yield from indices.split(self.batch_size)

    def __len__(self) -> int:
        _, world = self._world()
        size = self.num_samples if self.weights is not None else self.n
        return math.ceil(math.ceil(size / world) / self.batch_size)


def balanced_weights(y: torch.Tensor, power: float = 1.0) -> torch.Tensor:
    """Draw weight of each sample, ``1 / n_c ** power`` (0 for unlabelled samples)."""
    y = torch.as_tensor(y).long()
    counts = torch.bincount(y[y >= 0]).double()
    weight = 1.0 / counts.clamp(min=1).pow(power)
    return torch.where(y >= 0, weight[y.clamp(min=0)], torch.zeros((), dtype=torch.double))


def make_loader(
    streams: Dataset,
    batch_size: int = 512,
    balanced: bool = False,
    shuffle: bool = True,
    num_samples: int | None = None,
    seed: int = 0,
    pin_memory: bool = False,
) -> DataLoader:
    """A DataLoader that serves whole batches of ``streams`` by index.

    Parameters
    ----------
    streams : cropkit.datasets.torchdata.TensorStreams
        The data.
    batch_size : int
        Samples (pixels or patches) per batch.
    balanced : bool
        Draw pixels with probability ``1 / n_class`` so rare crops come up as often
        (pixel datasets only: patches hold many classes).
    shuffle : bool
        Shuffle (ignored when ``balanced``).
    num_samples : int, optional
        Draws per epoch when balanced.
    seed : int
        Seed of the order (epoch ``e`` draws with ``seed`` and ``e``).
    pin_memory : bool
        Page-locked batches for fast copies to a GPU.

    Raises
    ------
    DataError
        If a balanced sampler is asked for patches.
    """
    if balanced and streams.kind == "patch":
        raise DataError(
            "A balanced sampler draws samples by their class, and patches have a class per "
            "pixel: use balanced=False with patches (the loss has class weights)."
        )
    weights = balanced_weights(streams.labels("tier4")) if balanced else None
    sampler = BatchIndexSampler(len(streams), batch_size, shuffle, weights, num_samples, seed)
    return DataLoader(streams, batch_size=None, sampler=sampler, pin_memory=pin_memory)
