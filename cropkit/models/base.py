"""The contract every deep model keeps, and helpers shared by all of them.

A deep model is a :class:`torch.nn.Module` built from a
:class:`~cropkit.datasets.torchdata.StreamSpec` and its ``model:`` config section::

    net = LTAE(spec, d_model=128, n_head=16, ...)
    logits = net(batch)                                  # {"tier4": (B, K4)}
    logits, attention = net(batch, return_attention=True)

``batch`` is a dict of named streams (:mod:`cropkit.datasets.torchdata`), already standardised.
Pixel models return logits ``(B, K)``, patch models ``(B, K, H, W)``. Single-head models
return ``"tier4"`` only (the coarser tiers come by roll-up); hierarchical models return
every tier. ``attention`` maps names to tensors whose dims each model documents.
"""

from __future__ import annotations

import math
from typing import ClassVar, NamedTuple

import torch
from torch import nn

from ..core.errors import ConfigError, DataError
from ..datasets.torchdata import StreamSpec

__all__ = [
    "ATTENTION",
    "AttentionKind",
    "CropModel",
    "PixelStreamModel",
    "count_parameters",
    "resolve_device",
]


class AttentionKind(NamedTuple):
    """One kind of attention a network may return: the stream it needs and its dims."""

    stream: str
    dims: str


#: The attention dict's contract: one name per kind of attention across every model,
#: the stream it is read from and its dims (``h'``, ``w'``: the network's own map size,
#: which may be coarser than the patch). Temporal weights sum to 1 over the dates.
ATTENTION: dict[str, AttentionKind] = {
    "temporal": AttentionKind("s2", "(B, head, T); patch models (B, head, T, h', w')"),
    "temporal_s1": AttentionKind("s1", "(B, head, T_s1); patch models (B, head, T_s1, h', w')"),
    "channel": AttentionKind("s2", "(B, C): gate of each S2 band, then each S1 polarisation"),
    "spectral": AttentionKind("enmap", "(B, G): weights over the EnMAP band groups"),
    "spatial": AttentionKind("s2", "(B, h', w'): the spatial gate"),
}


def resolve_device(device: str) -> str:
    """``"auto"`` becomes ``"cuda"`` when torch sees a GPU, else ``"cpu"``.

    Raises
    ------
    ConfigError
        For another name, or ``"cuda"`` on a machine where torch sees no GPU.
    """
    if device not in ("auto", "cpu", "cuda") and not str(device).startswith("cuda:"):
        raise ConfigError(f"device must be 'auto', 'cpu' or 'cuda', not {device!r}.")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={device!r} but torch sees no GPU: use 'auto' or 'cpu'.")
    return device


def checked_number(name: str, value, kind: type, least: int, most: float | None = None):
    """A setting as ``kind``, or a :class:`ConfigError` that names it and what it may be.

    Parameters
    ----------
    name : str
        The setting, for the message.
    value :
        What was given (a string such as ``"ten"`` is refused, not parsed).
    kind : type
        ``int`` (whole numbers only) or ``float``.
    least : int
        1: the value must be positive; 0: zero or more.
    most : float, optional
        The largest value allowed.

    Raises
    ------
    ConfigError
        ``"learning_rate must be a positive number, not -0.3."``
    """
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    rule = "a positive number" if least else "zero or more"
    if most is not None:
        rule += f" up to {most:g}"
    if not ok or not math.isfinite(value) or (value <= 0 if least else value < 0):
        raise ConfigError(f"{name} must be {rule}, not {value!r}.")
    if most is not None and value > most:
        raise ConfigError(f"{name} must be {rule}, not {value!r}.")
    if kind is int and value != int(value):
        raise ConfigError(f"{name} must be a whole number, not {value!r}.")
    return kind(value)


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


class CropModel(nn.Module):
    """Base class of cropkit's deep models.

    Subclasses set the class attributes and implement :meth:`forward`.

    Attributes
    ----------
    name : str
        Registry name.
    kind : str
        ``"pixel"`` (reads ``(B, T, C)`` series) or ``"patch"`` (``(B, T, C, H, W)``).
    supported_inputs : tuple of str
        Streams the architecture can read; ``required_inputs`` must be among the
        chosen ones.
    hierarchical : bool
        Whether it predicts every tier with its own head.
    attention_names : tuple of str
        Kinds of attention it can return, names of :data:`ATTENTION` (empty: none);
        :meth:`attention_for` gives those returned for a set of inputs.
    """

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "pixel"
    supported_inputs: ClassVar[tuple[str, ...]] = ("s2",)
    required_inputs: ClassVar[tuple[str, ...]] = ("s2",)
    hierarchical: ClassVar[bool] = False
    attention_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, spec: StreamSpec) -> None:
        super().__init__()
        self.check_spec(spec)
        self.spec = spec

    @classmethod
    def check_spec(cls, spec: StreamSpec) -> None:
        """Refuse a dataset the architecture cannot read, naming both sides."""
        if spec.kind != cls.kind:
            other = "patches.zarr" if cls.kind == "patch" else "pixels.zarr"
            raise DataError(
                f"{cls.name} is a {cls.kind} model but the dataset holds {spec.kind}s: "
                f"train it on the {cls.kind} dataset (datasets/{other})."
            )
        unsupported = sorted(set(spec.inputs) - set(cls.supported_inputs))
        if unsupported:
            raise ConfigError(
                f"{cls.name} reads {list(cls.supported_inputs)}, not {unsupported}: drop them "
                f"from the inputs or pick a model that reads them."
            )
        missing = [s for s in cls.required_inputs if s not in spec.inputs]
        if missing:
            raise DataError(f"{cls.name} needs the {missing} stream; add it to the inputs.")

    @classmethod
    def attention_for(cls, inputs: tuple[str, ...]) -> tuple[str, ...]:
        """The keys of the attention dict it returns when reading ``inputs``."""
        return tuple(n for n in cls.attention_names if ATTENTION[n].stream in inputs)

    @property
    def n_parameters(self) -> int:
        """Trainable parameters."""
        return count_parameters(self)

    def forward(
        self, batch: dict[str, torch.Tensor], return_attention: bool = False
    ) -> dict[str, torch.Tensor] | tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Logits per tier (and attention when asked); see the module docstring."""
        raise NotImplementedError

    def auxiliary_loss(self, logits: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """A loss term of the architecture's own, added to the per-tier cross-entropy.

        None (the default) for none; hierarchical models return their heads'
        consistency term.
        """
        return None

    @staticmethod
    def _out(logits: dict, attention: dict, return_attention: bool):
        return (logits, attention) if return_attention else logits


class PixelStreamModel(CropModel):
    """A pixel model that encodes each stream on its own and fuses the embeddings.

    Every time series (``s2``, ``s1``) gets its own encoder with its own dates, the EnMAP
    spectrum a :class:`~cropkit.models.layers.SpectrumEncoder`; the embeddings are
    concatenated (late fusion) and classified by one head. Subclasses implement
    :meth:`series_encoder` and :meth:`encode_series`.
    """

    kind = "pixel"
    supported_inputs = ("s2", "s1", "enmap")

    def __init__(
        self,
        spec: StreamSpec,
        enmap_channels: int = 64,
        head_hidden: int = 64,
        dropout: float = 0.2,
    ) -> None:
        from .layers import MLPHead, SpectrumEncoder

        super().__init__(spec)
        self.encoders = nn.ModuleDict()
        width = 0
        for stream in spec.inputs:
            if stream == "enmap":
                self.encoders[stream] = SpectrumEncoder(
                    spec.channels["enmap"], enmap_channels, dropout
                )
                width += enmap_channels
            else:
                module, size = self.series_encoder(spec.channels[stream], spec.steps[stream])
                self.encoders[stream] = module
                width += size
        self.head = MLPHead(width, spec.n_classes["tier4"], head_hidden, dropout)

    def series_encoder(self, channels: int, steps: int) -> tuple[nn.Module, int]:
        """A new encoder for one series and the size of its embedding."""
        raise NotImplementedError

    def encode_series(
        self, module: nn.Module, batch: dict[str, torch.Tensor], stream: str
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Embedding ``(B, D)`` of one series and its attention (or None)."""
        raise NotImplementedError

    def forward(self, batch, return_attention=False):
        """Logits ``{"tier4": (B, K4)}``; attention ``temporal`` (S2), ``temporal_s1``."""
        parts, attention = [], {}
        for stream, module in self.encoders.items():
            if stream == "enmap":
                parts.append(module(batch["enmap"]))
                continue
            embedding, weights = self.encode_series(module, batch, stream)
            parts.append(embedding)
            if weights is not None:
                attention["temporal" if stream == "s2" else f"temporal_{stream}"] = weights
        logits = {"tier4": self.head(torch.cat(parts, dim=1))}
        return self._out(logits, attention, return_attention)
