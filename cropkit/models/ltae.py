"""L-TAE pixel classifier: lightweight temporal attention over each pixel's series."""

from __future__ import annotations

from torch import nn

from ..datasets.torchdata import StreamSpec
from .base import PixelStreamModel
from .layers import LightweightTemporalAttention

__all__ = ["LTAE"]


class LTAE(PixelStreamModel):
    """Lightweight Temporal Attention Encoder, per pixel.

    Follows Garnot & Landrieu (2020), "Lightweight Temporal Self-Attention for
    Classifying Satellite Images Time Series" (AALTD @ ECML-PKDD 2020): a master query
    per head, day-of-year sinusoidal positional encoding (``T = 1000``), channel groups
    per head, an output MLP and an MLP classifier.

    Departures from the paper: the paper embeds a *parcel* with a pixel-set encoder
    before the temporal encoder; here each pixel's bands go through a linear layer and
    LayerNorm (cropkit classifies pixels). Each sensor has its own L-TAE with its own
    dates (Sentinel-1 beside Sentinel-2, never in its channels), and an EnMAP spectrum
    an MLP; the embeddings are concatenated before the classifier. The default
    ``configs/ltae.yaml`` (d_model 128, 16 heads, d_k 8) has about 44 k parameters on
    ten Sentinel-2 bands and 11 classes; the paper's 256-wide model is a config away.

    Notes
    -----
    Attention: ``temporal`` (Sentinel-2) and ``temporal_s1``: ``(B, n_head, T)``, the
    softmax weights of each head over the dates, summing to 1 (0 on padded dates).
    """

    name = "ltae"
    attention_names = ("temporal", "temporal_s1")

    def __init__(
        self,
        spec: StreamSpec,
        d_model: int,
        n_head: int,
        d_k: int,
        embedding: int,
        head_hidden: int,
        enmap_channels: int,
        dropout: float,
    ) -> None:
        self._settings = dict(
            d_model=d_model, n_head=n_head, d_k=d_k, out=embedding, dropout=dropout
        )
        super().__init__(spec, enmap_channels, head_hidden, dropout)

    def series_encoder(self, channels: int, steps: int) -> tuple[nn.Module, int]:
        """An L-TAE for one series."""
        s = self._settings
        module = LightweightTemporalAttention(
            channels, s["d_model"], s["n_head"], s["d_k"], s["out"], s["dropout"]
        )
        return module, s["out"]

    def encode_series(self, module, batch, stream):
        """Embedding and attention ``(B, heads, T)`` of one series."""
        return module(batch[stream], batch[f"{stream}_doy"], batch.get(f"{stream}_pad"))
