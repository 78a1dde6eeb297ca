"""Dual-stream transformer: EnMAP hyperspectral and Sentinel-2 series, hierarchical heads."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..core.errors import DataError
from ..datasets.torchdata import StreamSpec
from .base import CropModel
from .hierarchy import HierarchicalHeads
from .utae import UTAEEncoder, check_halving, conv_block

__all__ = ["DualStream", "HyperspectralEncoder", "to_patch_grid"]


def to_patch_grid(
    features: torch.Tensor, offset: torch.Tensor, size: int, scale: float
) -> torch.Tensor:
    """Resample a map on the EnMAP window grid onto the 10 m patch grid.

    Parameters
    ----------
    features : torch.Tensor
        ``(B, D, eh, ew)`` on the EnMAP window.
    offset : torch.Tensor
        ``(B, 2)`` the patch's top-left corner in the window, EnMAP pixels (row, col).
    size : int
        Patch side ``H = W`` (10 m pixels).
    scale : float
        Size of a patch pixel in EnMAP pixels (1/3 for 10 m on 30 m).

    Returns
    -------
    torch.Tensor
        ``(B, D, H, W)``, bilinear between EnMAP pixel centres.
    """
    b, _, eh, ew = features.shape
    steps = (torch.arange(size, device=features.device, dtype=torch.float32) + 0.5) * scale
    rows = offset[:, 0, None].float() + steps  # (B, H) in EnMAP pixels
    cols = offset[:, 1, None].float() + steps
    grid = torch.stack(
        [
            (2 * cols / ew - 1)[:, None, :].expand(b, size, size),
            (2 * rows / eh - 1)[:, :, None].expand(b, size, size),
        ],
        dim=-1,
    )
    return F.grid_sample(
        features.float(), grid, mode="bilinear", padding_mode="border", align_corners=False
    ).to(features.dtype)


class HyperspectralEncoder(nn.Module):
    """Spectral then spatial transformer over an EnMAP window.

    Spectral: each EnMAP pixel's spectrum is cut into groups of ``band_group`` adjacent
    bands, each group a token (linear embedding plus a learnt position per group); a
    transformer encoder mixes the groups and a learnt query pools them (multi-head
    attention pooling, whose weights say which parts of the spectrum the model reads).
    Spatial: the pixel embeddings are tokens with a learnt position each; a second
    transformer encoder mixes them.

    Parameters
    ----------
    bands : int
        EnMAP bands ``W``.
    side : int
        Side of the EnMAP window (pixels).
    d_model, n_head, band_group, spectral_layers, spatial_layers, dropout :
        Transformer settings (see :class:`DualStream`).
    """

    def __init__(
        self,
        bands: int,
        side: int,
        d_model: int,
        n_head: int,
        band_group: int,
        spectral_layers: int,
        spatial_layers: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.band_group = band_group
        self.n_groups = math.ceil(bands / band_group)
        self.pad = self.n_groups * band_group - bands
        self.embed = nn.Linear(band_group, d_model)
        self.group_position = nn.Parameter(torch.randn(self.n_groups, d_model) * 0.02)
        self.spectral = _encoder(d_model, n_head, spectral_layers, dropout)
        self.query = nn.Parameter(torch.randn(1, 1, d_model) * 0.02)
        self.pool = nn.MultiheadAttention(d_model, n_head, dropout=dropout, batch_first=True)
        self.pixel_position = nn.Parameter(torch.randn(side * side, d_model) * 0.02)
        self.spatial = _encoder(d_model, n_head, spatial_layers, dropout)
        self.out_channels = d_model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, W, eh, ew)`` -> features ``(B, d_model, eh, ew)``, attention ``(B, groups)``."""
        b, _, eh, ew = x.shape
        spectra = F.pad(x.permute(0, 2, 3, 1), (0, self.pad))  # (B, eh, ew, G g)
        tokens = self.embed(spectra.reshape(b * eh * ew, self.n_groups, self.band_group))
        tokens = self.spectral(tokens + self.group_position)
        query = self.query.expand(len(tokens), -1, -1)
        pooled, weights = self.pool(query, tokens, tokens, need_weights=True)
        pixels = self.spatial(pooled.view(b, eh * ew, -1) + self.pixel_position)
        features = pixels.transpose(1, 2).reshape(b, -1, eh, ew)
        return features, weights.view(b, eh * ew, self.n_groups).mean(1)


def _encoder(d_model: int, n_head: int, layers: int, dropout: float) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(
        d_model, n_head, 2 * d_model, dropout, batch_first=True, norm_first=True
    )
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


class DualStream(CropModel):
    """EnMAP and Sentinel-2 in two streams, fused, with one head per taxonomy tier.

    Follows the first source work, the H2Crop benchmark of EnMAP hyperspectral and
    Sentinel-2 time series over a four-tier crop taxonomy (github.com/flyakon/H2Crop): a
    hyperspectral stream of a spectral transformer (tokens are groups of EnMAP bands)
    and a spatial transformer (tokens are 30 m pixels), brought onto the 10 m patch
    grid; a Sentinel-2 stream that attends over time and space; their features fused;
    and hierarchical heads, one per tier of the four-tier crop taxonomy, each reading
    the shared features and the coarser tier's logits (the cascade), with the loss
    summed over the tiers. cropkit adds a consistency term to the loss
    (``consistency_weight``: each head's divergence from tier 4 rolled up) so that the
    heads' answers nest. Without ``enmap`` in the inputs it is the S2-only baseline.

    Departures from the source: the Sentinel-2 stream is a U-TAE encoder (convolutions
    and L-TAE temporal attention) rather than a windowed (Swin-like) transformer; the
    EnMAP features are resampled to the 10 m grid bilinearly (``grid_sample`` from the
    patch's exact place in its EnMAP window) and fused by concatenation and a
    convolution. The default ``configs/dual_stream.yaml`` (S2 widths 16-32-64 as
    ``utae``, d_model 64 for EnMAP) has about 0.25 M parameters on S2 alone and 0.38 M
    with EnMAP (224 bands, a 12 x 12 window, 11 classes), so that it trains on a CPU in
    minutes; a larger model is a config away (``widths``, ``enmap_d_model``, the
    number of layers).

    Notes
    -----
    Attention: the returned dict holds

    - ``temporal``: ``(B, n_head, T, h, w)`` U-TAE attention masks over the S2 dates at
      the lowest resolution (sum to 1 over dates);
    - ``spectral``: ``(B, G)`` the attention of the EnMAP pooling query over the ``G``
      band groups (``band_group`` adjacent bands each), averaged over the EnMAP
      pixels of the window and the heads (sums to 1); only with EnMAP.
    """

    name = "dual_stream"
    kind = "patch"
    supported_inputs = ("s2", "enmap")
    hierarchical = True
    attention_names = ("temporal", "spectral")

    def __init__(
        self,
        spec: StreamSpec,
        widths: list[int],
        n_head: int,
        d_model: int,
        d_k: int,
        groups: int,
        enmap_d_model: int,
        enmap_heads: int,
        band_group: int,
        spectral_layers: int,
        spatial_layers: int,
        fused_width: int,
        head_hidden: int,
        consistency_weight: float,
        dropout: float,
    ) -> None:
        super().__init__(spec)
        check_halving(self.name, spec.patch_size, len(widths))
        self.s2 = UTAEEncoder(spec.channels["s2"], widths, n_head, d_model, d_k, groups, dropout)
        width = self.s2.out_channels
        self.with_enmap = "enmap" in spec.inputs
        if self.with_enmap:
            if not spec.enmap_grid:
                raise DataError(
                    "dual_stream reads EnMAP patches, but the dataset does not say where "
                    "they lie on the 10 m grid: build it with "
                    "cropkit.datasets.patch_dataset(..., enmap=...)."
                )
            self.enmap = HyperspectralEncoder(
                spec.channels["enmap"],
                int(spec.enmap_grid["side"]),
                enmap_d_model,
                enmap_heads,
                band_group,
                spectral_layers,
                spatial_layers,
                dropout,
            )
            width += self.enmap.out_channels
        self.fuse = conv_block(width, fused_width, groups)
        self.heads = HierarchicalHeads(fused_width, spec, True, head_hidden, dropout)
        self.consistency_weight = float(consistency_weight)

    def auxiliary_loss(self, logits):
        """``consistency_weight`` times the heads' disagreement (see ``HierarchicalHeads``)."""
        if not self.consistency_weight:
            return None
        return self.consistency_weight * self.heads.consistency(logits)

    def forward(self, batch, return_attention=False):
        """Logits ``{"tier1": (B, K1, H, W), ..., "tier4": (B, K4, H, W)}``; attention above."""
        features, masks = self.s2(batch["s2"], batch["s2_doy"], batch.get("s2_pad"))
        parts, attention = [features], {"temporal": masks}
        if self.with_enmap:
            enmap, attention["spectral"] = self.enmap(batch["enmap"])
            size = features.shape[-1]
            grid = self.spec.enmap_grid
            parts.append(to_patch_grid(enmap, batch["enmap_offset"], size, grid["scale"]))
        logits = self.heads(self.fuse(torch.cat(parts, dim=1)))
        return self._out(logits, attention, return_attention)
