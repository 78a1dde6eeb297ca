import numpy as np
import pytest

from cropkit.core.errors import DataError
from cropkit.models.spectral import SPECTRAL_REGIONS, SpectralProjection, spectral_groups


def two_crops(n=400, seed=0):
    """Spectra of two crops that differ only in a narrow absorption feature."""
    rng = np.random.default_rng(seed)
    bands = np.linspace(400, 2400, 120)
    base = 0.3 + 0.1 * np.sin(bands / 300)
    dip = np.exp(-(((bands - 970) / 15) ** 2))  # a narrow water feature
    y = rng.integers(0, 2, n)
    brightness = rng.normal(1, 0.15, (n, 1))  # canopy cover varies far more than the dip
    spectra = brightness * (base - 0.02 * y[:, None] * dip) + rng.normal(0, 0.002, (n, 120))
    return spectra, y


def test_discriminant_separates_what_single_bands_do_not():
    spectra, y = two_crops()
    projection = SpectralProjection(components=20).fit(spectra[:300], y[:300])
    features = projection.transform(spectra[300:])
    assert projection.feature_names() == ["enmap_ld1"] + [f"enmap_pc{i}" for i in range(1, 11)]
    ld = features[:, 0]
    separated = max(((ld > 0) == y[300:]).mean(), ((ld < 0) == y[300:]).mean())
    assert separated > 0.95
    best_band = max(
        max(((b > np.median(b)) == y[300:]).mean(), ((b < np.median(b)) == y[300:]).mean())
        for b in spectra[300:].T
    )
    assert best_band < 0.75  # no single band tells the crops apart


def test_missing_spectra_stay_missing_and_unfitted_projection_says_so():
    spectra, y = two_crops()
    spectra[5] = np.nan
    projection = SpectralProjection(components=10, discriminants=False).fit(spectra, y)
    out = projection.transform(spectra)
    assert out.shape == (400, 10) and np.isnan(out[5]).all() and np.isfinite(out[6]).all()
    with pytest.raises(DataError, match="not fitted yet"):
        SpectralProjection().transform(spectra)
    with pytest.raises(DataError, match="Fewer than 10 complete spectra"):
        SpectralProjection().fit(spectra[:5], y[:5])


def test_bands_fall_in_the_regions_of_the_spectrum_that_hold_them():
    names, group = spectral_groups(["418nm", "560nm", "705nm", "1010nm", "2300nm", "2310nm"])
    assert names == ["blue", "green", "red edge 1", "water 970", "SWIR 2300"]
    assert group.tolist() == [0, 1, 2, 3, 4, 4]


def test_every_enmap_band_has_a_region_and_a_band_outside_all_is_refused():
    enmap = np.r_[np.linspace(418, 1000, 96), np.linspace(902, 2445, 128)]
    names, group = spectral_groups(enmap)
    assert len(names) == len(SPECTRAL_REGIONS) and np.bincount(group).min() >= 2
    with pytest.raises(DataError, match=r"3000.*outside every spectral region"):
        spectral_groups([500, 3000])
