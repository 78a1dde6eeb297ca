"""Attention-3DCNN: Sentinel-2 and Sentinel-1 fused by channel, temporal and spatial attention."""

from __future__ import annotations

import torch
from torch import nn

from ..datasets.torchdata import StreamSpec
from .base import CropModel
from .layers import DateEncoding
from .utae import conv_block

__all__ = ["Attention3DCNN", "ChannelAttention", "DateAttention", "SpatialAttention"]


class ChannelAttention(nn.Module):
    """CBAM channel attention over the input channels of every stream together.

    The descriptor of each channel is its mean and its maximum over dates and pixels;
    one squeeze MLP (shared by both descriptors, as in CBAM) gives a sigmoid weight per
    channel. Applied with a residual, ``x * (1 + a)``.

    Parameters
    ----------
    channels : int
        All channels of all streams (S2 bands + S1 polarisations).
    reduction : int
        Squeeze factor of the hidden layer.
    """

    def __init__(self, channels: int, reduction: int = 2) -> None:
        super().__init__()
        hidden = max(channels // reduction, 2)
        self.mlp = nn.Sequential(
            nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels)
        )

    def forward(self, streams: list[torch.Tensor]) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Streams ``(B, T_i, C_i, H, W)`` -> reweighted streams and ``a`` ``(B, sum C_i)``."""
        mean = torch.cat([x.mean(dim=(1, 3, 4)) for x in streams], dim=1)
        peak = torch.cat([x.amax(dim=(1, 3, 4)) for x in streams], dim=1)
        weights = torch.sigmoid(self.mlp(mean) + self.mlp(peak))
        out, start = [], 0
        for x in streams:
            a = weights[:, start : start + x.shape[2]]
            out.append(x * (1 + a[:, None, :, None, None]))
            start += x.shape[2]
        return out, weights


class DateAttention(nn.Module):
    """Weights over dates from each date's pooled features and its day of year.

    ``score_t = v . tanh(W f_t + U e(doy_t))``, softmax over dates (padded dates get
    none); the features are pooled with the weights, plus their plain mean (residual).

    Parameters
    ----------
    channels : int
        Feature channels ``F``.
    hidden : int
        Width of the scoring layer.
    """

    def __init__(self, channels: int, hidden: int = 32) -> None:
        super().__init__()
        self.features = nn.Linear(channels, hidden)
        self.dates = nn.Sequential(DateEncoding(hidden), nn.Linear(hidden, hidden, bias=False))
        self.score = nn.Linear(hidden, 1, bias=False)

    def forward(
        self, x: torch.Tensor, doy: torch.Tensor, pad: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` ``(B, F, T, H, W)``, ``doy``/``pad`` ``(B, T)`` -> ``(B, F, H, W)``, ``(B, T)``."""
        pooled = x.mean(dim=(3, 4)).transpose(1, 2)  # (B, T, F)
        scores = self.score(torch.tanh(self.features(pooled) + self.dates(doy))).squeeze(-1)
        if pad is not None:
            scores = scores.masked_fill(pad, float("-inf"))
        weights = scores.softmax(dim=1)
        keep = (~pad).float() if pad is not None else torch.ones_like(weights)
        mean = torch.einsum("bfthw,bt->bfhw", x, keep / keep.sum(1, keepdim=True).clamp(min=1))
        return torch.einsum("bfthw,bt->bfhw", x, weights) + mean, weights


class SpatialAttention(nn.Module):
    """CBAM spatial attention: a 7x7 gate from the channel mean and maximum, residual."""

    def __init__(self, kernel: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, F, H, W)`` -> ``x * (1 + s)`` and the gate ``s`` ``(B, H, W)``."""
        gate = torch.sigmoid(self.conv(torch.cat([x.mean(1, True), x.amax(1, True)], dim=1)))
        return x * (1 + gate), gate[:, 0]


def _separable(cin: int, cout: int) -> nn.Sequential:
    """Depthwise 3x3 then pointwise 1x1 convolution, BatchNorm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, padding=1, groups=cin, padding_mode="reflect"),
        nn.Conv2d(cin, cout, 1),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
    )


class Attention3DCNN(CropModel):
    """Optical 3D/2D CNN and SAR depthwise-separable branch, fused by three attentions.

    Follows the third source study (Sentinel-1 and Sentinel-2 fused by an attention
    3D CNN for crop classification under cloud): an optical branch of 3D convolutions
    over (time, height, width) followed by 2D convolutions; a SAR branch of
    depthwise-separable convolutions; fusion through channel attention (a CBAM-style
    squeeze MLP over the bands and polarisations), temporal attention (weights over
    dates, aware of the day of year) and spatial attention (a 7x7 gate), each with a
    residual connection. Without ``s1`` in the inputs it is the paper's optical-only
    ablation. Attention modules after Woo et al. (2018), "CBAM: Convolutional Block
    Attention Module", ECCV.

    Departures from the paper: it gives no layer sizes, so these are cropkit's choices:
    two 3x3x3 Conv3d blocks of ``optical_width`` filters (BatchNorm3d, ReLU), two
    depthwise-separable blocks of ``sar_width`` filters per date, temporal attention per
    stream (the two sensors keep their own dates), channel attention on the input
    channels (so its weights read as band and polarisation importance), two 3x3 Conv2d
    blocks of ``fused_width`` after fusion, the spatial gate, then a 1x1 classifier.
    With the default ``configs/attention3dcnn.yaml`` (16 / 16 / 64) it has about 0.1 M
    parameters on ten bands, two polarisations and 11 classes.

    Notes
    -----
    Attention: the returned dict holds

    - ``channel``: ``(B, C)`` weight in (0, 1) per input channel, S2 bands then S1
      polarisations (``spec.channel_names``);
    - ``temporal``: ``(B, 1, T, 1, 1)`` weights over the S2 dates (sum to 1), one head
      shared by the whole patch (the contract's ``(B, head, T, h', w')``);
      ``temporal_s1``: ``(B, 1, T1, 1, 1)`` over the S1 dates when S1 is read;
    - ``spatial``: ``(B, H, W)`` gate in (0, 1).
    """

    name = "attention3dcnn"
    kind = "patch"
    supported_inputs = ("s2", "s1")
    attention_names = ("channel", "temporal", "temporal_s1", "spatial")

    def __init__(
        self,
        spec: StreamSpec,
        optical_width: int,
        sar_width: int,
        fused_width: int,
        reduction: int,
        groups: int,
        dropout: float,
    ) -> None:
        super().__init__(spec)
        self.streams = [s for s in ("s2", "s1") if s in spec.inputs]
        self.channel = ChannelAttention(sum(spec.channels[s] for s in self.streams), reduction)
        c2 = spec.channels["s2"]
        self.optical = nn.Sequential(
            nn.Conv3d(c2, optical_width, 3, padding=1),
            nn.BatchNorm3d(optical_width),
            nn.ReLU(),
            nn.Conv3d(optical_width, optical_width, 3, padding=1),
            nn.BatchNorm3d(optical_width),
            nn.ReLU(),
        )
        self.optical_time = DateAttention(optical_width)
        width = optical_width
        if "s1" in self.streams:
            self.sar = nn.Sequential(
                _separable(spec.channels["s1"], sar_width), _separable(sar_width, sar_width)
            )
            self.sar_time = DateAttention(sar_width)
            width += sar_width
        self.fuse = nn.Sequential(conv_block(width, fused_width, groups), nn.Dropout2d(dropout))
        self.spatial = SpatialAttention(7)
        self.classifier = nn.Sequential(
            conv_block(fused_width, fused_width, groups),
            nn.Conv2d(fused_width, spec.n_classes["tier4"], 1),
        )

    def forward(self, batch, return_attention=False):
        """Logits ``{"tier4": (B, K4, H, W)}``; attention as in the class notes."""
        inputs, channel = self.channel([batch[s] for s in self.streams])
        x = inputs[0].transpose(1, 2)  # (B, C, T, H, W)
        optical, temporal = self.optical_time(self.optical(x), batch["s2_doy"], batch.get("s2_pad"))
        parts, attention = [optical], {"channel": channel, "temporal": temporal}
        if "s1" in self.streams:
            s1 = inputs[1]
            b, t = s1.shape[:2]
            sar = self.sar(s1.flatten(0, 1))  # (B T1, F, H, W)
            sar = sar.view(b, t, *sar.shape[1:]).transpose(1, 2)  # (B, F, T1, H, W)
            pooled, attention["temporal_s1"] = self.sar_time(
                sar, batch["s1_doy"], batch.get("s1_pad")
            )
            parts.append(pooled)
        fused, attention["spatial"] = self.spatial(self.fuse(torch.cat(parts, dim=1)))
        logits = {"tier4": self.classifier(fused)}
        for key in ("temporal", "temporal_s1"):  # one head, one weight set per patch
            if key in attention:
                attention[key] = attention[key][:, None, :, None, None]
        return self._out(logits, attention, return_attention)
