"""A per-pixel 1D temporal CNN feeding a U-Net: the first source study's model."""

from __future__ import annotations

import torch
from torch import nn

from ..datasets.torchdata import StreamSpec
from .base import CropModel
from .layers import TemporalConvEncoder
from .utae import check_halving, conv_block

__all__ = ["TempCNNUNet", "UNet"]


class UNet(nn.Module):
    """A plain U-Net: ``(B, C, H, W)`` -> ``(B, widths[0], H, W)``.

    Parameters
    ----------
    in_channels : int
        Channels of the input map.
    widths : list of int
        Width of every level; the map halves ``len(widths) - 1`` times (max pooling)
        and comes back through transposed convolutions and skip connections.
    groups : int
        GroupNorm groups.
    """

    def __init__(self, in_channels: int, widths: list[int], groups: int = 8) -> None:
        super().__init__()
        widths = [int(w) for w in widths]
        self.out_channels = widths[0]
        self.inconv = conv_block(in_channels, widths[0], groups)
        self.down = nn.ModuleList(
            nn.Sequential(nn.MaxPool2d(2), conv_block(widths[i], widths[i + 1], groups))
            for i in range(len(widths) - 1)
        )
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2)
            for i in range(len(widths) - 1)
        )
        self.merge = nn.ModuleList(
            conv_block(2 * widths[i], widths[i], groups) for i in range(len(widths) - 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` -> ``(B, widths[0], H, W)``."""
        levels = [self.inconv(x)]
        for down in self.down:
            levels.append(down(levels[-1]))
        out = levels[-1]
        for i in reversed(range(len(self.up))):
            out = self.merge[i](torch.cat([self.up[i](out), levels[i]], dim=1))
        return out


class TempCNNUNet(CropModel):
    """Per-pixel temporal convolutions, then a U-Net over the patch.

    Follows the first source study (multi-temporal Sentinel-2 crop-type mapping over
    French RPG parcels): every pixel's series ``(T, C)`` goes through 1D convolutions
    over time (Conv1d, BatchNorm, ReLU, dropout), flattened and projected to a
    ``D``-dimensional embedding; the embeddings form a ``(B, D, H, W)`` map that a U-Net
    turns into per-pixel logits. The temporal part is TempCNN (Pelletier et al. 2019,
    "Temporal Convolutional Neural Network for the Classification of Satellite Image
    Time Series", Remote Sensing 11(5)); the spatial part the U-Net of Ronneberger et
    al. (2015).

    Departures from the source: the default ``configs/tempcnn_unet.yaml`` has a
    three-level U-Net of widths 32-64-128 (about 0.5 M parameters on ten bands, twelve
    dates and 11 classes) so that it trains on a CPU in minutes; the source's five-level
    64-512 U-Net (about 13 M parameters) is ``widths: [64, 128, 256, 512, 512]``
    (patches a multiple of 16 px). GroupNorm replaces BatchNorm in the U-Net (small
    patch batches). Sentinel-2 only, as in the source.

    Notes
    -----
    Attention: none (the model has no attention to return; the dict is empty).
    """

    name = "tempcnn_unet"
    kind = "patch"
    supported_inputs = ("s2",)
    attention_names = ()

    def __init__(
        self,
        spec: StreamSpec,
        d_model: int,
        kernel: int,
        conv_blocks: int,
        widths: list[int],
        groups: int,
        dropout: float,
    ) -> None:
        super().__init__(spec)
        check_halving(self.name, spec.patch_size, len(widths))
        self.temporal = TemporalConvEncoder(
            spec.channels["s2"], spec.steps["s2"], d_model, kernel, conv_blocks, d_model, dropout
        )
        self.unet = UNet(d_model, widths, groups)
        self.classifier = nn.Conv2d(self.unet.out_channels, spec.n_classes["tier4"], 1)

    def forward(self, batch, return_attention=False):
        """Logits ``{"tier4": (B, K4, H, W)}``; attention ``{}``."""
        x = batch["s2"]  # (B, T, C, H, W)
        b, t, c, h, w = x.shape
        series = x.permute(0, 3, 4, 1, 2).reshape(b * h * w, t, c)  # (pixels, T, C)
        embedding = self.temporal(series).view(b, h, w, -1).permute(0, 3, 1, 2)
        logits = {"tier4": self.classifier(self.unet(embedding))}
        return self._out(logits, {}, return_attention)
