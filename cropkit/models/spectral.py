"""Hyperspectral spectra made compact: regions of the spectrum, and features for trees.

:data:`SPECTRAL_REGIONS` cuts the 400-2500 nm range at the features of a canopy's
spectrum (pigment absorption, red edge, NIR plateau, the water absorptions at 970, 1200,
1450 and 1940 nm, the SWIR cellulose and lignin features); :func:`spectral_groups`
assigns a sensor's bands to them, the spectral tokens of ``dual_stream``.


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

__all__ = ["SPECTRAL_REGIONS", "SpectralProjection", "spectral_groups"]

#: Regions of a vegetation spectrum, ``(name, start nm, end nm)``, end excluded: each one
#: a feature that separates canopies (chlorophyll and carotenoid absorption in the
#: visible, the red edge's position, the NIR plateau of leaf structure, liquid water
#: absorptions, the SWIR of dry matter, cellulose and lignin).
SPECTRAL_REGIONS: tuple[tuple[str, float, float], ...] = (
    ("blue", 350, 500),
    ("green", 500, 580),
    ("red", 580, 690),
    ("red edge 1", 690, 720),
    ("red edge 2", 720, 750),
    ("NIR shoulder", 750, 800),
    ("NIR plateau", 800, 900),
    ("water 970", 900, 1050),
    ("NIR 1100", 1050, 1150),
    ("water 1200", 1150, 1300),
    ("water 1450", 1300, 1500),
    ("SWIR 1650", 1500, 1750),
    ("water 1940", 1750, 2000),
    ("cellulose 2100", 2000, 2200),
    ("SWIR 2300", 2200, 2600),
)


def spectral_groups(wavelengths, regions=SPECTRAL_REGIONS) -> tuple[list[str], np.ndarray]:
    """Assign bands to regions of the spectrum.

    Parameters
    ----------
    wavelengths : array-like
        ``(band,)`` centre wavelengths (nm), numbers or labels such as ``"418nm"``.
    regions : sequence of (str, float, float)
        ``(name, start, end)`` in nm, end excluded.

    Returns
    -------
    names : list of str
        The regions that hold at least one band, in spectral order.
    group : numpy.ndarray
        ``(band,)`` int64: each band's index into ``names``.

    Raises
    ------
    DataError
        For a band outside every region (the fix: give ``regions`` that cover it).
    """
    nm = np.array([float(str(w).removesuffix("nm")) for w in wavelengths])
    index = np.full(len(nm), -1)
    for i, (_, start, end) in enumerate(regions):
        index[(nm >= start) & (nm < end)] = i
    if (index < 0).any():
        raise DataError(
            f"Bands at {nm[index < 0].round().tolist()} nm lie outside every spectral region "
            f"({regions[0][1]:.0f}-{regions[-1][2]:.0f} nm): pass regions that cover them."
        )
    used = np.unique(index)
    return [regions[i][0] for i in used], np.searchsorted(used, index)


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
