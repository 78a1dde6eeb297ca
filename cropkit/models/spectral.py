"""Compact features from hyperspectral spectra for models that split on single features.

A tree splits on one feature at a time, and one of 224 narrow, correlated EnMAP bands
says little on its own: what separates look-alike crops is the *shape* of the spectrum
(red-edge position, pigment and water absorption depths). :class:`SpectralProjection`
finds those shapes on the training pixels: a principal-component reduction (noise
out), then linear discriminants between the crop classes, plus the leading components.

Examples
--------
>>> projection = SpectralProjection(components=40).fit(spectra, labels)   # doctest: +SKIP
>>> features = projection.transform(spectra)                               # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from ..core.errors import DataError

__all__ = ["SpectralProjection"]


class SpectralProjection:
    """PCA then LDA of spectra, fitted on labelled training pixels.

    Parameters
    ----------
    components : int
        Principal components kept (at most the number of bands).
    discriminants : bool
        Add the linear discriminants (at most classes - 1) computed on those components.
    keep_components : int
        Leading principal components passed on as features too.
    """

    def __init__(self, components: int = 40, discriminants: bool = True, keep_components: int = 10):
        self.components = int(components)
        self.discriminants = bool(discriminants)
        self.keep_components = int(keep_components)
        self.pca_: PCA | None = None
        self.lda_: LinearDiscriminantAnalysis | None = None

    def fit(self, spectra: np.ndarray, labels: np.ndarray) -> SpectralProjection:
        """Fit on ``spectra`` ``(sample, band)`` with class ``labels`` ``(sample,)``.

        Rows with a missing value are left out.
        """
        spectra = np.asarray(spectra, dtype=np.float64)
        ok = np.isfinite(spectra).all(axis=1)
        if ok.sum() < 10:
            raise DataError("Fewer than 10 complete spectra to fit the projection on.")
        n = min(self.components, spectra.shape[1], int(ok.sum()) - 1)
        self.pca_ = PCA(n, random_state=0).fit(spectra[ok])
        if self.discriminants and np.unique(labels[ok]).size > 1:
            self.lda_ = LinearDiscriminantAnalysis().fit(
                self.pca_.transform(spectra[ok]), labels[ok]
            )
        return self

    def transform(self, spectra: np.ndarray) -> np.ndarray:
        """Features ``(sample, feature)``, float32; NaN rows stay NaN."""
        if self.pca_ is None:
            raise DataError("The projection is not fitted yet: call fit() first.")
        spectra = np.asarray(spectra, dtype=np.float64)
        ok = np.isfinite(spectra).all(axis=1)
        out = np.full((len(spectra), len(self.feature_names())), np.nan, dtype=np.float32)
        if ok.any():
            pcs = self.pca_.transform(spectra[ok])
            parts = [pcs[:, : self.keep_components]]
            if self.lda_ is not None:
                parts.insert(0, self.lda_.transform(pcs))
            out[ok] = np.concatenate(parts, axis=1)
        return out

    def feature_names(self) -> list[str]:
        """``enmap_ld1`` ... then ``enmap_pc1`` ...."""
        n_pc = self.pca_.n_components_
        n_ld = 0 if self.lda_ is None else min(len(self.lda_.classes_) - 1, n_pc)
        n_pc = min(self.keep_components, n_pc)
        return [f"enmap_ld{i + 1}" for i in range(n_ld)] + [f"enmap_pc{i + 1}" for i in range(n_pc)]
