"""Dual-stream transformer: EnMAP hyperspectral and Sentinel-2 series, hierarchical heads."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..core.errors import ConfigError, DataError
from ..datasets.torchdata import StreamSpec
from .base import CropModel, checked_number
from .hierarchy import HierarchicalHeads
from .spectral import spectral_groups
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
    """EnMAP window to features: a spectral and a spatial transformer side by side.

    As H2Crop's EnMAP stream (a "P" and an "S" vision transformer whose outputs are
    concatenated), at cropkit's scale:

    - **spectral**: one token per region of the spectrum (:data:`SPECTRAL_REGIONS`,
      ``band_groups="spectrum"``) or per ``n`` adjacent bands (``band_groups=n``); a
      token's input is its region's image over the window, a learnt weighting of the
      region's bands (initialised to their mean), embedded linearly. A transformer mixes
      the regions; each token is mapped back to a window image, and a learnt query pools
      the tokens into a summary of the window's spectrum (multi-head attention pooling,
      whose weights say which regions the model reads);
    - **spatial**: one token per EnMAP pixel, its whole spectrum embedded linearly (one
      batched call over every pixel of every window), plus a learnt position and the
      spectral summary; a transformer mixes the pixels.

    Both run once per window, so the cost grows with ``regions + pixels`` tokens, not
    ``regions x pixels`` as a spectral transformer run on every pixel would.

    Parameters
    ----------
    wavelengths : sequence
        ``(W,)`` EnMAP band centres (nm, or labels such as ``"418nm"``).
    side : int
        Side of the EnMAP window (pixels).
    band_groups : str or int
        ``"spectrum"`` (regions of the spectrum) or a number of adjacent bands per token.
    d_model, n_head, spectral_layers, spatial_layers, dropout :
        Transformer settings (see :class:`DualStream`).
    """

    def __init__(
        self,
        wavelengths,
        side: int,
        d_model: int,
        n_head: int,
        band_groups: str | int,
        spectral_layers: int,
        spatial_layers: int,
        dropout: float,
    ) -> None:
        super().__init__()
        bands = len(wavelengths)
        if band_groups == "spectrum":
            self.group_names, group = spectral_groups(wavelengths)
        elif isinstance(band_groups, str):
            raise ConfigError(
                "band_groups must be 'spectrum' or a number of adjacent bands, "
                f"not {band_groups!r}."
            )
        else:
            size = checked_number("band_groups", band_groups, int, 1, bands)
            group = np.arange(bands) // size
            self.group_names = [f"{wavelengths[i]}+" for i in range(0, bands, size)]
        n_groups = len(self.group_names)
        member = torch.zeros(n_groups, bands)
        member[torch.as_tensor(group), torch.arange(bands)] = 1.0
        self.register_buffer("member", member)
        self.band_weight = nn.Parameter(member / member.sum(1, keepdim=True))
        self.region_embed = nn.Linear(side * side, d_model)
        self.group_position = nn.Parameter(torch.randn(n_groups, d_model) * 0.02)
        self.spectral = _encoder(d_model, n_head, spectral_layers, dropout)
        self.query = nn.Parameter(torch.randn(1, 1, d_model) * 0.02)
        self.pool = nn.MultiheadAttention(d_model, n_head, dropout=dropout, batch_first=True)
        self.region_image = nn.Linear(d_model, side * side)
        self.pixel_embed = nn.Linear(bands, d_model)
        self.pixel_position = nn.Parameter(torch.randn(side * side, d_model) * 0.02)
        self.spatial = _encoder(d_model, n_head, spatial_layers, dropout)
        self.merge = nn.Conv2d(d_model + n_groups, d_model, 1)
        self.out_channels = d_model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, W, eh, ew)`` -> features ``(B, d_model, eh, ew)``, attention ``(B, groups)``."""
        b, _, eh, ew = x.shape
        regions = torch.einsum("bwhv,gw->bghv", x, self.band_weight * self.member)
        tokens = self.spectral(self.region_embed(regions.flatten(2)) + self.group_position)
        query = self.query.expand(b, -1, -1)
        summary, weights = self.pool(query, tokens, tokens, need_weights=True)
        region_maps = self.region_image(tokens).view(b, -1, eh, ew)
        pixels = self.pixel_embed(x.flatten(2).transpose(1, 2))
        pixels = self.spatial(pixels + self.pixel_position + summary)
        features = torch.cat([pixels.transpose(1, 2).reshape(b, -1, eh, ew), region_maps], 1)
        return self.merge(features), weights.view(b, -1)


def _encoder(d_model: int, n_head: int, layers: int, dropout: float) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(
        d_model, n_head, 2 * d_model, dropout, batch_first=True, norm_first=True
    )
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


class DualStream(CropModel):
    """EnMAP and Sentinel-2 in two streams, fused, with one head per taxonomy tier.

    Follows the first source work, the H2Crop benchmark of EnMAP hyperspectral and
    Sentinel-2 time series over a four-tier crop taxonomy (github.com/flyakon/H2Crop): a
    hyperspectral stream of a spectral transformer (tokens are regions of the spectrum,
    each an image over the window) beside a spatial transformer (tokens are 30 m pixels,
    each a whole spectrum), see :class:`HyperspectralEncoder`, brought onto the 10 m
    patch grid; a Sentinel-2 stream that attends over time and space; their features fused;
    and hierarchical heads, one per tier of the four-tier crop taxonomy, each reading
    the shared features and the coarser tier's logits (the cascade), with the loss
    summed over the tiers. cropkit adds a consistency term to the loss
    (``consistency_weight``: each head's divergence from tier 4 rolled up) so that the
    heads' answers nest. Without ``enmap`` in the inputs it is the S2-only baseline.

    Departures from the source: the Sentinel-2 stream is a U-TAE encoder (convolutions
    and L-TAE temporal attention) trained from scratch, rather than a video Swin
    transformer initialised from the AgriFM foundation model; the spectral tokens are
    regions of the spectrum (15 at most) rather than single bands (218), each with a
    learnt weighting of its bands; the EnMAP window is the patch's footprint plus one
    pixel (12 x 12 for a 32-pixel patch) and its features are resampled to the 10 m grid
    bilinearly (``grid_sample`` from the patch's exact place in the window) rather than
    by pixel shuffle; the streams are fused by concatenation and a convolution; the
    source's optional prior (last year's crop map as an input) is not used. The default
    ``configs/dual_stream.yaml`` (S2 widths 16-32-64 as ``utae``, d_model 64 for EnMAP)
    has about 0.25 M parameters on S2 alone and 0.42 M with EnMAP (224 bands, a 12 x 12
    window, 15 regions), so that it trains on a CPU in minutes; a larger model is a
    config away (``widths``, ``enmap_d_model``, the number of layers).

    Notes
    -----
    Attention: the returned dict holds

    - ``temporal``: ``(B, n_head, T, h, w)`` U-TAE attention masks over the S2 dates at
      the lowest resolution (sum to 1 over dates);
    - ``spectral``: ``(B, G)`` the attention of the EnMAP pooling query over the ``G``
      spectral tokens (``self.enmap.group_names``), averaged over the heads (sums to
      1); only with EnMAP.
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
        band_groups: str | int,
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
                spec.channel_names["enmap"],
                int(spec.enmap_grid["side"]),
                enmap_d_model,
                enmap_heads,
                band_groups,
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
