"""TempCNN pixel classifier: 1D convolutions over each pixel's time series."""

from __future__ import annotations

from torch import nn

from ..datasets.torchdata import StreamSpec
from .base import PixelStreamModel
from .layers import TemporalConvEncoder

__all__ = ["TempCNN"]


class TempCNN(PixelStreamModel):
    """Temporal Convolutional Neural Network, per pixel.

    Follows Pelletier, Webb & Petitjean (2019), "Temporal Convolutional Neural Network
    for the Classification of Satellite Image Time Series", Remote Sensing 11(5): three
    Conv1d blocks (64 filters, kernel 5, BatchNorm, ReLU, dropout 0.2), a 256-unit dense
    layer and a softmax classifier.

    Departures from the paper: each sensor has its own convolution stack (Sentinel-1 is
    a second stream with its own dates, not extra channels) and an EnMAP spectrum an MLP,
    fused before the classifier; the classifier has one hidden layer; the day of year is
    not an input (the series are on fixed compositing periods, as in the paper). The
    default ``configs/tempcnn.yaml`` has about 259 k parameters on ten Sentinel-2 bands,
    12 monthly periods and 11 classes; width 64 / dense 256 as in the paper.

    Notes
    -----
    Attention: None: TempCNN has no attention (use attributions in notebook 05).
    """

    name = "tempcnn"

    def __init__(
        self,
        spec: StreamSpec,
        width: int,
        kernel: int,
        blocks: int,
        embedding: int,
        head_hidden: int,
        enmap_channels: int,
        dropout: float,
    ) -> None:
        self._settings = dict(
            width=width, kernel=kernel, blocks=blocks, out=embedding, dropout=dropout
        )
        super().__init__(spec, enmap_channels, head_hidden, dropout)

    def series_encoder(self, channels: int, steps: int) -> tuple[nn.Module, int]:
        """A convolution stack for one series."""
        s = self._settings
        module = TemporalConvEncoder(
            channels, steps, s["width"], s["kernel"], s["blocks"], s["out"], s["dropout"]
        )
        return module, s["out"]

    def encode_series(self, module, batch, stream):
        """Embedding of one series (no attention)."""
        return module(batch[stream]), None
