"""PyTorch views of the cropkit datasets: batches as dicts of named sensor streams.

A batch never folds one sensor into another's channels. Each stream keeps its own
dates and validity:

====================  =====================================  ==========================
key                   pixel models                           patch models
====================  =====================================  ==========================
``s2``                ``(B, T, C)`` float32                  ``(B, T, C, H, W)``
``s2_doy``            ``(B, T)`` int64 day of year           ``(B, T)``
``s2_valid``          ``(B, T)`` bool, observed (not filled)  ``(B, T, H, W)``
``s2_pad``            ``(B, T)`` bool, True on padded dates   ``(B, T)``
``s1``, ``s1_doy``,   ``(B, T1, P)`` and the same keys        ``(B, T1, P, H, W)``
``s1_valid``,
``s1_pad``
``enmap``             ``(B, W)`` float32 spectrum             ``(B, W, h, w)`` on 30 m
``enmap_offset``      --                                      ``(B, 2)`` patch corner in
                                                              the EnMAP window (row, col)
``tier1``..``tier4``  ``(B,)`` int64, ``-1`` unlabelled       ``(B, H, W)``
``parcel``            ``(B,)`` int64                          ``(B, H, W)``
====================  =====================================  ==========================

:class:`TensorStreams` reads a saved dataset once into contiguous tensors and serves
whole batches by index (one gather per tensor, no per-sample ``__getitem__`` and
collate); a dataset too large for memory (a study's pooled regions) stays in its Zarr
store and each batch is read from the chunks that hold it, the same batches for the same
indices (:func:`streams_for` chooses). :mod:`cropkit.datasets.loaders` draws the
batches' indices (shuffled or class-balanced, sharded over DDP ranks), and
:class:`Standardiser` scales the streams *on the device* with statistics of the training
samples only (:func:`stream_stats`).

Examples
--------
>>> streams = TensorStreams(train_ds, inputs=("s2", "s1"))             # doctest: +SKIP
>>> loader = loaders.make_loader(streams, batch_size=1024, balanced=True)       # doctest: +SKIP
>>> batch = next(iter(loader)); batch["s2"].shape                       # doctest: +SKIP
torch.Size([1024, 12, 10])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import xarray as xr
from torch import nn
from torch.utils.data import Dataset

from ..core.cluster import memory_budget
from ..core.errors import DataError, UnknownInputError
from ..core.taxonomy import TIERS, Taxonomy
from . import class_names, class_weights

__all__ = [
    "SERIES",
    "STREAMS",
    "StreamSpec",
    "TensorStreams",
    "streams_for",
    "Standardiser",
    "stream_stats",
    "dataset_kind",
    "loss_weights",
]

#: Time-series streams (each with its own dates) and all streams a model may read.
SERIES = ("s2", "s1")
STREAMS = ("s2", "s1", "enmap")
#: Label value of unlabelled pixels (the loss ignores it).
IGNORE_INDEX = -1


def dataset_kind(ds: xr.Dataset) -> str:
    """``"patch"`` for a patch dataset (a ``patch`` dim), else ``"pixel"``."""
    return "patch" if "patch" in ds.dims else "pixel"


def check_inputs(ds: xr.Dataset, inputs: tuple[str, ...]) -> None:
    """Refuse input names that are no stream, and streams ``ds`` lacks, naming the fix.

    Raises
    ------
    UnknownInputError
        For a name other than ``s2``, ``s1``, ``enmap``.
    DataError
        For a stream the dataset does not hold.
    """
    unknown = sorted(set(inputs) - set(STREAMS))
    if unknown:
        raise UnknownInputError(f"Unknown inputs {unknown}; streams are {list(STREAMS)}.")
    missing = [name for name in inputs if name not in ds]
    if missing:
        raise DataError(
            f"The dataset has no {missing} inputs: no {missing} stream, only "
            f"{[s for s in STREAMS if s in ds]}. Build it with those composites "
            "(pixel_dataset(..., s1=..., enmap=...)) or drop them from the inputs."
        )


def _time_dim(ds: xr.Dataset, stream: str) -> str:
    return "s1_time" if stream == "s1" and "s1_time" in ds.dims else "time"


def _doy(ds: xr.Dataset, stream: str) -> np.ndarray:
    """Day of year of a stream: ``(T,)`` shared or ``(N, T)`` per sample."""
    name = "s1_doy" if stream == "s1" and "s1_doy" in ds.variables else "doy"
    return np.asarray(ds[name].values, dtype=np.int64)


@dataclass
class StreamSpec:
    """What a model is built for: streams, their sizes, and the classes of every tier.

    Attributes
    ----------
    kind : str
        ``"pixel"`` or ``"patch"``.
    inputs : tuple of str
        Streams read, e.g. ``("s2", "s1")``.
    channels : dict
        Stream -> channels (S2 bands, S1 polarisations, EnMAP bands).
    steps : dict
        Time-series stream -> number of dates.
    channel_names : dict
        Stream -> channel names.
    classes : dict
        Tier -> class names (index order).
    parents : dict
        Tier -> ``(n_tier4,)`` list: the tier-``k`` class of each tier-4 class.
    patch_size : int or None
        Side of the patches (patch models).
    taxonomy : dict
        The taxonomy the classes come from, as dataset attributes
        (:meth:`cropkit.core.taxonomy.Taxonomy.to_attrs`); empty for datasets that carry none.
    enmap_grid : dict
        Patch datasets with EnMAP: ``{"side": eh, "scale": s}``, the side of the EnMAP
        windows (EnMAP pixels) and the size of a patch pixel in EnMAP pixels (1/3 for
        10 m on 30 m); the batch's ``enmap_offset`` ``(B, 2)`` places each patch in its
        window. Empty otherwise.
    """

    kind: str
    inputs: tuple[str, ...]
    channels: dict[str, int]
    steps: dict[str, int] = field(default_factory=dict)
    channel_names: dict[str, list[str]] = field(default_factory=dict)
    classes: dict[str, list[str]] = field(default_factory=dict)
    parents: dict[str, list[int]] = field(default_factory=dict)
    patch_size: int | None = None
    enmap_grid: dict[str, float] = field(default_factory=dict)
    taxonomy: dict[str, str] = field(default_factory=dict)

    @property
    def n_classes(self) -> dict[str, int]:
        """Tier -> number of classes."""
        return {tier: len(names) for tier, names in self.classes.items()}

    def to_taxonomy(self) -> Taxonomy | None:
        """The taxonomy the classes come from (None for datasets that carry none)."""
        return Taxonomy.from_attrs(self.taxonomy)

    def to_dict(self) -> dict:
        """JSON-ready form (:meth:`from_dict` reads it back)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, data: dict) -> StreamSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(**{**data, "inputs": tuple(data["inputs"])})

    @classmethod
    def from_dataset(cls, ds: xr.Dataset, inputs: tuple[str, ...]) -> StreamSpec:
        """The spec of ``ds`` read through ``inputs``."""
        inputs = tuple(inputs)
        check_inputs(ds, inputs)
        kind = dataset_kind(ds)
        channels, steps, names = {}, {}, {}
        channel_dim = {"s2": "band", "s1": "pol", "enmap": "wavelength"}
        for stream in inputs:
            dim = channel_dim[stream]
            channels[stream] = int(ds.sizes[dim])
            labels = ds[dim].values if dim in ds.coords else np.arange(ds.sizes[dim])
            names[stream] = [
                f"{v:.0f}nm" if stream == "enmap" else str(v) for v in np.asarray(labels)
            ]
            if stream in SERIES:
                steps[stream] = int(ds.sizes[_time_dim(ds, stream)])
        classes = {tier: class_names(ds, tier) for tier in TIERS}
        enmap_grid = _enmap_grid(ds) if kind == "patch" and "enmap" in inputs else {}
        return cls(
            kind=kind,
            inputs=inputs,
            channels=channels,
            steps=steps,
            channel_names=names,
            classes=classes,
            parents=tier_parents(ds),
            patch_size=int(ds.sizes["h"]) if kind == "patch" else None,
            enmap_grid=enmap_grid,
            taxonomy={k: ds.attrs[k] for k in ("taxonomy", "taxonomy_table") if k in ds.attrs},
        )


def _enmap_grid(ds: xr.Dataset) -> dict[str, float]:
    """Side and scale of the EnMAP windows of a patch dataset, checked against the patches.

    Raises
    ------
    DataError
        If the dataset does not say where its patches lie in the EnMAP windows, or the
        windows do not cover the patches.
    """
    if "enmap_offset" not in ds or "enmap_scale" not in ds.attrs:
        raise DataError(
            "The patch dataset's EnMAP windows carry no alignment to the 10 m patches "
            "(no enmap_offset variable or enmap_scale attribute): build it with "
            "cropkit.datasets.patch_dataset(..., enmap=...)."
        )
    side, size = int(ds.sizes["eh"]), int(ds.sizes["h"])
    scale = float(ds.attrs["enmap_scale"])
    offset = np.asarray(ds["enmap_offset"].values, dtype=np.float64)
    reach = float(offset.max()) + size * scale if offset.size else size * scale
    if offset.size and (offset.min() < 0 or reach > side + 1e-6):
        raise DataError(
            f"The EnMAP windows ({side} x {side} EnMAP pixels) do not cover the "
            f"{size} x {size} px patches on the 10 m grid ({size * scale:.2f} EnMAP pixels "
            f"a side from offsets up to {offset.max():.2f}): the two grids are not aligned; "
            "rebuild the dataset with cropkit.datasets.patch_dataset(..., enmap=...)."
        )
    return {"side": side, "scale": scale}


def tier_parents(ds: xr.Dataset) -> dict[str, list[int]]:
    """The class of every coarser tier that each tier-4 class belongs to.

    From the taxonomy the dataset carries when its class lists are the taxonomy's;
    otherwise read from the labelled samples (each tier-4 class has one parent per tier
    in a valid taxonomy), tier-4 classes without a sample getting ``-1``.

    Returns
    -------
    dict
        Tier -> list of length ``n_tier4``.
    """
    taxonomy = Taxonomy.from_attrs(ds.attrs)
    if taxonomy is not None and all(class_names(ds, t) == taxonomy.classes(t) for t in TIERS):
        return taxonomy.parents()
    t4 = np.asarray(ds["tier4"].values).ravel()
    n4 = len(class_names(ds, "tier4"))
    out = {}
    for tier in TIERS:
        values = np.asarray(ds[tier].values).ravel()
        parent = np.full(n4, -1, dtype=np.int64)
        ok = (t4 >= 0) & (values >= 0)
        parent[t4[ok]] = values[ok]
        out[tier] = parent.tolist()
    return out


class TensorStreams(Dataset):
    """A saved dataset in memory as contiguous tensors, served a batch at a time.

    Parameters
    ----------
    ds : xarray.Dataset
        A pixel dataset ``(sample, ...)`` or a patch dataset ``(patch, ...)`` from
        :mod:`cropkit.datasets` (or :func:`cropkit.datasets.from_arrays`); without labels
        (:func:`cropkit.datasets.grid_pixels`) the tiers are ``-1`` and ``spec`` is None.
    inputs : tuple of str
        Streams to serve (``"s2"``, ``"s1"``, ``"enmap"``).
    in_memory : bool
        Load the streams into tensors (the default), or keep them in the dataset's
        store (a lazily opened, dask-backed dataset) and read each batch's samples from
        it: for data larger than memory. Labels, validity and dates are in memory
        either way; a batch holds the same values both ways.

    Notes
    -----
    ``streams[idx]`` with a 1-D index tensor returns one batch (the dict in the module
    docstring); values are raw (not standardised, NaN kept): :class:`Standardiser`
    scales them on the device.
    """

    def __init__(
        self, ds: xr.Dataset, inputs: tuple[str, ...] = ("s2",), in_memory: bool = True
    ) -> None:
        self.inputs = tuple(inputs)
        check_inputs(ds, self.inputs)
        self.kind = dataset_kind(ds)
        labelled = "classes_tier4" in ds.attrs
        self.spec = StreamSpec.from_dataset(ds, self.inputs) if labelled else None
        self.tensors: dict[str, torch.Tensor] = {}
        self.shared: dict[str, torch.Tensor] = {}  # (T,) values expanded to (B, T)
        self.stored: dict[str, xr.DataArray] = {}  # streams read a batch at a time
        for stream in self.inputs:
            if in_memory:
                self.tensors[stream] = torch.from_numpy(
                    np.ascontiguousarray(ds[stream].values, dtype=np.float32)
                )
            else:
                self.stored[stream] = ds[stream]
            if stream not in SERIES:
                continue
            doy = torch.from_numpy(_doy(ds, stream))
            (self.shared if doy.ndim == 1 else self.tensors)[f"{stream}_doy"] = doy
            valid_name = "valid" if stream == "s2" else f"{stream}_valid"
            if valid_name in ds:
                valid = np.asarray(ds[valid_name].values, dtype=bool)
            elif in_memory:  # observed wherever there is a value
                valid = np.isfinite(ds[stream].values).all(axis=2)
            else:  # the same, a chunk at a time
                valid = ds[stream].notnull().all(ds[stream].dims[2]).values
            self.tensors[f"{stream}_valid"] = torch.from_numpy(np.ascontiguousarray(valid))
            pad_name = f"{stream}_pad"
            if pad_name in ds:
                self.tensors[pad_name] = torch.from_numpy(np.asarray(ds[pad_name].values, bool))
            else:
                steps = ds.sizes[_time_dim(ds, stream)]
                self.shared[pad_name] = torch.zeros(steps, dtype=torch.bool)
        if "enmap" in self.inputs and "enmap_offset" in ds:  # EnMAP windows over patches
            self.tensors["enmap_offset"] = torch.from_numpy(
                np.asarray(ds["enmap_offset"].values, dtype=np.float32)
            )
        self._n = int(ds.sizes["patch" if self.kind == "patch" else "sample"])
        for name in (*TIERS, "parcel"):
            dtype = np.int64 if name == "parcel" else np.int16  # labels compact in memory
            if name in ds:
                values = np.asarray(ds[name].values, dtype=dtype)
            else:  # unlabelled data (inference)
                values = np.full(self._n, IGNORE_INDEX if name != "parcel" else 0, dtype)
            self.tensors[name] = torch.from_numpy(values)

    def __len__(self) -> int:
        return self._n

    @property
    def streamed(self) -> bool:
        """Whether the streams are read from the store a batch at a time."""
        return bool(self.stored)

    def block(self, stream: str, start: int, stop: int) -> np.ndarray:
        """Samples ``start:stop`` of one stream as float32 (from memory or the store)."""
        if stream in self.stored:
            array = self.stored[stream]
            return np.asarray(array.isel({array.dims[0]: slice(start, stop)}).values, np.float32)
        return self.tensors[stream][start:stop].numpy()

    def labels(self, tier: str = "tier4") -> torch.Tensor:
        """Labels of one tier for every sample, ``(N,)`` or ``(N, H, W)`` int64."""
        return self.tensors[tier].long()

    def __getitem__(self, index) -> dict[str, torch.Tensor]:
        index = torch.as_tensor(index, dtype=torch.long)
        if index.ndim == 0:
            index = index[None]
        batch = {name: tensor.index_select(0, index) for name, tensor in self.tensors.items()}
        if self.stored:  # each sample read once, in store order, then put in batch order
            unique, inverse = np.unique(index.numpy(), return_inverse=True)
            for name, array in self.stored.items():
                values = array.isel({array.dims[0]: unique}).values
                batch[name] = torch.from_numpy(np.ascontiguousarray(values[inverse], np.float32))
        for name in TIERS:
            batch[name] = batch[name].long()
        for name, tensor in self.shared.items():
            batch[name] = tensor.expand(len(index), *tensor.shape)
        return batch


def loss_weights(y, n_classes: int, power: float = 0.5) -> torch.Tensor:
    """Class weights for ``torch.nn.CrossEntropyLoss(weight=...)``, dims ``(n_classes,)``."""
    return torch.from_numpy(class_weights(np.asarray(y), n_classes, power))


def stream_stats(streams: TensorStreams) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Mean and standard deviation per channel of every stream (training samples only).

    Returns
    -------
    dict
        Stream -> ``(mean, std)``, each ``(C,)`` float32 (NaN values ignored; a
        constant channel gets std 1).
    """
    stats = {}
    for stream in streams.inputs:
        axis = 2 if stream in SERIES else 1
        total = square = count = 0.0
        size = _block_samples(streams, stream)
        for start in range(0, len(streams), size):  # float64 sums, a block at a time
            x = np.moveaxis(streams.block(stream, start, start + size), axis, -1)
            flat = x.reshape(-1, x.shape[-1]).astype(np.float64)
            seen = np.isfinite(flat)
            flat = np.where(seen, flat, 0.0)
            total = total + flat.sum(axis=0)
            square = square + (flat * flat).sum(axis=0)
            count = count + seen.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / count
            std = np.sqrt(np.clip(square / count - mean * mean, 0.0, None))
        std = np.where(np.isfinite(std) & (std > 1e-6), std, 1.0)
        stats[stream] = (np.nan_to_num(mean).astype(np.float32), std.astype(np.float32))
    return stats


def _block_samples(streams: TensorStreams, stream: str, target: int = 64 * 2**20) -> int:
    """Samples per block of about ``target`` bytes of ``stream``."""
    one = streams.block(stream, 0, 1)
    return max(1, target // max(one.nbytes, 1))


def streams_for(
    ds: xr.Dataset, inputs: tuple[str, ...], memory_bytes: int | None = None
) -> TensorStreams:
    """The dataset's streams in memory where they fit, else read a batch at a time.

    Parameters
    ----------
    ds : xarray.Dataset
        A pixel or patch dataset; one opened lazily from its store (dask-backed) may be
        streamed, one in memory is used as it is.
    inputs : tuple of str
        The streams served.
    memory_bytes : int, optional
        What the streams may take in memory as float32
        (:func:`cropkit.core.cluster.memory_budget` by default).
    """
    present = [s for s in inputs if s in ds]
    lazy = any(ds[s].chunks is not None for s in present)
    need = sum(4 * int(np.prod(ds[s].shape)) for s in present)
    budget = memory_budget() if memory_bytes is None else memory_bytes
    return TensorStreams(ds, inputs, in_memory=not (lazy and need > budget))


class Standardiser(nn.Module):
    """Scales each stream with training statistics on the device; NaN become 0.

    Parameters
    ----------
    stats : dict
        From :func:`stream_stats`: stream -> ``(mean, std)`` per channel.
    """

    def __init__(self, stats: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        super().__init__()
        self.streams = tuple(stats)
        for stream, (mean, std) in stats.items():
            self.register_buffer(f"{stream}_mean", torch.as_tensor(mean, dtype=torch.float32))
            self.register_buffer(f"{stream}_std", torch.as_tensor(std, dtype=torch.float32))

    def mean(self, stream: str) -> torch.Tensor:
        """The training mean of ``stream`` per channel, ``(C,)``: its neutral input."""
        return getattr(self, f"{stream}_mean")

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """A copy of ``batch`` with every stream standardised."""
        out = dict(batch)
        for stream in self.streams:
            x = batch[stream]
            axis = 2 if stream in SERIES else 1
            shape = [1] * x.ndim
            shape[axis] = -1
            mean = getattr(self, f"{stream}_mean").view(shape)
            std = getattr(self, f"{stream}_std").view(shape)
            out[stream] = torch.nan_to_num((x.float() - mean) / std, 0.0, 0.0, 0.0)
        return out
