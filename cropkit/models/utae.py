"""U-TAE patch model: a U-Net over dates with L-TAE attention masks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..core.errors import ConfigError
from ..datasets.torchdata import StreamSpec
from .base import CropModel
from .layers import LightweightTemporalAttention

__all__ = ["UTAE", "UTAEEncoder", "conv_block", "check_halving"]


def conv_block(cin: int, cout: int, groups: int) -> nn.Sequential:
    """Two 3x3 convolutions with GroupNorm and ReLU: ``(N, cin, H, W)`` -> ``(N, cout, H, W)``."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, padding_mode="reflect"),
        nn.GroupNorm(min(groups, cout), cout),
        nn.ReLU(),
        nn.Conv2d(cout, cout, 3, padding=1, padding_mode="reflect"),
        nn.GroupNorm(min(groups, cout), cout),
        nn.ReLU(),
    )


def check_halving(name: str, patch_size: int | None, levels: int) -> None:
    """Refuse a patch that ``levels - 1`` stride-2 steps cannot halve evenly."""
    factor = 2 ** (levels - 1)
    if patch_size and patch_size % factor:
        raise ConfigError(
            f"{name} with {levels} levels halves the patch {levels - 1} times, and a "
            f"{patch_size} px patch does not halve that often: use a patch size "
            f"that is a multiple of {factor}, or fewer levels (widths)."
        )


class UTAEEncoder(nn.Module):
    """The U-TAE body: a time series of patches to one feature map and attention masks.

    Parameters
    ----------
    in_channels : int
        Bands ``C`` of the input.
    widths : list of int
        Encoder widths per level (the patch halves ``len(widths) - 1`` times).
    n_head, d_model, d_k, groups, dropout :
        L-TAE and GroupNorm settings (see :class:`UTAE`).
    """

    def __init__(
        self,
        in_channels: int,
        widths: list[int],
        n_head: int,
        d_model: int,
        d_k: int,
        groups: int,
        dropout: float,
    ) -> None:
        super().__init__()
        widths = [int(w) for w in widths]
        bad = [w for w in widths if w % n_head]
        if bad:
            raise ConfigError(f"U-TAE widths {bad} are not divisible by n_head={n_head}.")
        self.n_head = n_head
        self.out_channels = widths[0]
        self.inconv = conv_block(in_channels, widths[0], groups)
        self.down = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(widths[i], widths[i], 4, stride=2, padding=1),
                nn.GroupNorm(min(groups, widths[i]), widths[i]),
                nn.ReLU(),
                conv_block(widths[i], widths[i + 1], groups),
            )
            for i in range(len(widths) - 1)
        )
        self.temporal = LightweightTemporalAttention(
            widths[-1], d_model, n_head, d_k, widths[-1], dropout
        )
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(widths[i + 1], widths[i], 4, stride=2, padding=1)
            for i in range(len(widths) - 1)
        )
        self.merge = nn.ModuleList(
            conv_block(2 * widths[i], widths[i], groups) for i in range(len(widths) - 1)
        )

    def _pool(self, features: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """Each head pools its channel group over time.

        ``features`` ``(B, T, C, H, W)``, ``masks`` ``(B, heads, T, h, w)`` ->
        ``(B, C, H, W)``.
        """
        b, t, c, h, w = features.shape
        if masks.shape[-1] != w:
            flat = masks.flatten(0, 2)[:, None]
            masks = F.interpolate(flat, size=(h, w), mode="bilinear", align_corners=False)
            masks = masks.view(b, self.n_head, t, h, w)
        groups = features.view(b, t, self.n_head, c // self.n_head, h, w)
        return torch.einsum("bgthw,btgchw->bgchw", masks, groups).reshape(b, c, h, w)

    def forward(
        self, x: torch.Tensor, doy: torch.Tensor, pad: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode a series of patches.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, T, C, H, W)``.
        doy, pad : torch.Tensor
            ``(B, T)`` day of year and padded dates.

        Returns
        -------
        features : torch.Tensor
            ``(B, widths[0], H, W)``.
        masks : torch.Tensor
            ``(B, n_head, T, h, w)`` attention at the lowest resolution, summing to 1
            over dates.
        """
        b, t = x.shape[:2]
        levels = [self.inconv(x.flatten(0, 1))]
        for down in self.down:
            levels.append(down(levels[-1]))
        low = levels[-1]
        c, h, w = low.shape[1:]
        series = low.view(b, t, c, h, w).permute(0, 3, 4, 1, 2).reshape(b * h * w, t, c)
        doy = doy.repeat_interleave(h * w, dim=0)
        pad = None if pad is None else pad.repeat_interleave(h * w, dim=0)
        embedding, attention = self.temporal(series, doy, pad)
        out = embedding.view(b, h, w, c).permute(0, 3, 1, 2)
        masks = attention.view(b, h, w, self.n_head, t).permute(0, 3, 4, 1, 2)
        for i in reversed(range(len(self.up))):
            skip = levels[i]
            pooled = self._pool(skip.view(b, t, *skip.shape[1:]), masks)
            out = self.merge[i](torch.cat([self.up[i](out), pooled], dim=1))
        return out, masks


class UTAE(CropModel):
    """U-Net with Temporal Attention Encoder, on patches.

    Follows Garnot & Landrieu (2021), "Panoptic Segmentation of Satellite Image Time
    Series with Convolutional Temporal Attention Networks", ICCV 2021: a convolutional
    encoder shared across dates, an L-TAE applied to every pixel of the lowest
    resolution map giving one attention mask per head over the dates, the masks
    upsampled to every level where each head pools its channel group over time, and a
    convolutional decoder with skip connections that gives logits per pixel.

    Departures from the paper: the default ``configs/utae.yaml`` is small (encoder
    widths 16-32-64, 4 heads, d_model 64; about 180 k parameters on ten bands and 11
    classes) so it trains on a CPU in minutes; the paper's widths 64-64-64-128 with 16
    heads and d_model 256 are a config away. GroupNorm is used in the decoder as well.
    Sentinel-2 only, as in the paper.

    Notes
    -----
    Attention: ``temporal``: ``(B, n_head, T, h, w)``, the attention masks at the lowest
    resolution (``h = H / 2 ** (depth - 1)``), summing to 1 over dates.
    """

    name = "utae"
    kind = "patch"
    supported_inputs = ("s2",)
    attention_names = ("temporal",)

    def __init__(
        self,
        spec: StreamSpec,
        widths: list[int],
        n_head: int,
        d_model: int,
        d_k: int,
        groups: int,
        dropout: float,
    ) -> None:
        super().__init__(spec)
        check_halving(self.name, spec.patch_size, len(widths))
        self.encoder = UTAEEncoder(
            spec.channels["s2"], widths, n_head, d_model, d_k, groups, dropout
        )
        self.classifier = nn.Conv2d(self.encoder.out_channels, spec.n_classes["tier4"], 1)

    def forward(self, batch, return_attention=False):
        """Logits ``{"tier4": (B, K4, H, W)}``; attention ``{"temporal": ...}``."""
        features, masks = self.encoder(batch["s2"], batch["s2_doy"], batch.get("s2_pad"))
        logits = {"tier4": self.classifier(features)}
        return self._out(logits, {"temporal": masks}, return_attention)
