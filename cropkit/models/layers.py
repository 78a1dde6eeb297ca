"""Building blocks shared by the deep models: date encoding, L-TAE, encoders, heads.

Everything takes and returns tensors; the dims are in each docstring.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = [
    "DateEncoding",
    "LightweightTemporalAttention",
    "TemporalConvEncoder",
    "SpectrumEncoder",
    "MLPHead",
]


class DateEncoding(nn.Module):
    """Sinusoidal encoding of the day of year (Vaswani et al. 2017, with dates as positions).

    Parameters
    ----------
    d : int
        Size of the encoding (even).
    period : float
        Longest wavelength ``T`` (days); 1000 as in L-TAE.
    """

    def __init__(self, d: int, period: float = 1000.0) -> None:
        super().__init__()
        freq = period ** (-2 * torch.arange(d // 2, dtype=torch.float32) / d)
        self.register_buffer("freq", freq)
        self.d = d

    def forward(self, doy: torch.Tensor) -> torch.Tensor:
        """``doy`` ``(B, T)`` -> encoding ``(B, T, d)``."""
        angle = doy.float()[..., None] * self.freq
        return torch.stack([angle.sin(), angle.cos()], dim=-1).flatten(-2)


class LightweightTemporalAttention(nn.Module):
    """L-TAE: multi-head attention over dates with one learnt master query per head.

    Garnot & Landrieu (2020), "Lightweight Temporal Self-Attention for Classifying
    Satellite Images Time Series", AALTD @ ECML-PKDD. The input is projected to
    ``d_model`` and given the date encoding; each head compares its master query with
    the keys of every date, softmax over dates, and pools its own ``d_model / n_head``
    channel group of the values. The head outputs are concatenated and passed through an
    MLP.

    Parameters
    ----------
    in_channels : int
        Channels ``C`` of the input series.
    d_model : int
        Width after the input projection (divisible by ``n_head``).
    n_head : int
        Heads.
    d_k : int
        Size of queries and keys.
    out_channels : int
        Size of the output embedding.
    dropout : float
        Dropout on the attention output.
    """

    def __init__(
        self,
        in_channels: int,
        d_model: int = 128,
        n_head: int = 16,
        d_k: int = 8,
        out_channels: int = 128,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if d_model % n_head:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_head ({n_head}).")
        self.n_head, self.d_k = n_head, d_k
        self.inconv = nn.Sequential(nn.Linear(in_channels, d_model), nn.LayerNorm(d_model))
        self.dates = DateEncoding(d_model)
        self.query = nn.Parameter(torch.randn(n_head, d_k) * d_k**-0.5)
        self.key = nn.Linear(d_model, n_head * d_k)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, out_channels), nn.LayerNorm(out_channels), nn.ReLU()
        )
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, x: torch.Tensor, doy: torch.Tensor, pad: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Embed a series.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, T, C)``.
        doy : torch.Tensor
            ``(B, T)`` day of year.
        pad : torch.Tensor, optional
            ``(B, T)`` bool, True on padded dates (they get no attention).

        Returns
        -------
        embedding : torch.Tensor
            ``(B, out_channels)``.
        attention : torch.Tensor
            ``(B, n_head, T)``, sums to 1 over dates.
        """
        b, t, _ = x.shape
        values = self.inconv(x) + self.dates(doy)  # (B, T, d_model)
        keys = self.key(values).view(b, t, self.n_head, self.d_k)
        scores = torch.einsum("bthk,hk->bht", keys, self.query) / math.sqrt(self.d_k)
        if pad is not None:
            scores = scores.masked_fill(pad[:, None, :], float("-inf"))
        attention = scores.softmax(dim=-1)  # (B, heads, T)
        groups = values.view(b, t, self.n_head, -1)  # each head pools its channel group
        pooled = torch.einsum("bht,bthc->bhc", attention, groups).reshape(b, -1)
        return self.mlp(self.dropout(pooled)), attention


class TemporalConvEncoder(nn.Module):
    """Conv1d blocks over time (TempCNN), flattened into one embedding.

    Parameters
    ----------
    in_channels, steps : int
        Input ``(B, T, C)`` sizes.
    width : int
        Filters per block.
    kernel : int
        Kernel size (odd; padding keeps ``T``).
    blocks : int
        Conv1d + BatchNorm + ReLU + Dropout blocks.
    out_channels : int
        Size of the dense embedding after flattening.
    dropout : float
        Dropout after every block.
    """

    def __init__(
        self,
        in_channels: int,
        steps: int,
        width: int = 64,
        kernel: int = 5,
        blocks: int = 3,
        out_channels: int = 256,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(blocks):
            layers += [
                nn.Conv1d(in_channels if i == 0 else width, width, kernel, padding=kernel // 2),
                nn.BatchNorm1d(width),
                nn.ReLU(),
                nn.Dropout(dropout),
            ]
        self.convs = nn.Sequential(*layers)
        self.dense = nn.Sequential(
            nn.Flatten(),
            nn.Linear(width * steps, out_channels),
            nn.BatchNorm1d(out_channels),
            nn.ReLU(),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, C)`` -> ``(B, out_channels)``."""
        return self.dense(self.convs(x.transpose(1, 2)))


class SpectrumEncoder(nn.Module):
    """A small MLP on one hyperspectral spectrum ``(B, W)`` -> ``(B, out_channels)``."""

    def __init__(self, bands: int, out_channels: int = 64, dropout: float = 0.2) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(bands, 2 * out_channels),
            nn.LayerNorm(2 * out_channels),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(2 * out_channels, out_channels),
            nn.ReLU(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, W)`` -> ``(B, out_channels)``."""
        return self.net(x)


class MLPHead(nn.Module):
    """Classifier head: ``(B, in)`` -> logits ``(B, n_classes)`` through one hidden layer."""

    def __init__(self, in_channels: int, n_classes: int, hidden: int = 64, dropout: float = 0.2):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_channels, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in)`` -> ``(B, n_classes)``."""
        return self.net(x)
