"""A pixel dataset from your own arrays: series that did not come through cropkit.

:func:`from_arrays` gives the same layout as :func:`cropkit.datasets.pixel_dataset`
(streams, dates, validity, the four tiers, parcel, split), so every pixel model and
:func:`cropkit.train.fit_and_score` take it as they take the pipeline's datasets.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import DataError
from ..taxonomy import TIERS

__all__ = ["from_arrays"]

_SPLIT_NAMES = {"train": 0, "val": 1, "test": 2}


def _split_codes(split, parcel: np.ndarray, test_fraction: float, val_fraction: float, seed):
    from ..splits import random_codes

    if split is None:  # whole parcels to one side: no leak between pixels of a field
        groups, inverse = np.unique(parcel, return_inverse=True)
        return random_codes(groups.shape, test_fraction, val_fraction, seed)[inverse]
    split = np.asarray(split)
    if split.dtype.kind in "USO":
        bad = sorted(set(split.tolist()) - set(_SPLIT_NAMES))
        if bad:
            raise DataError(f"split values {bad[:5]} are not 'train', 'val' or 'test'.")
        return np.vectorize(_SPLIT_NAMES.get)(split).astype(np.int8)
    if not np.isin(split, (0, 1, 2)).all():
        raise DataError("split codes must be 0 (train), 1 (val) or 2 (test).")
    return split.astype(np.int8)


def _tier_labels(labels: np.ndarray, taxonomy) -> dict[str, np.ndarray]:
    """Tier-4 names or crop codes -> class names of every tier."""
    table = taxonomy.table
    labels = np.asarray(labels).astype(str)
    if np.isin(labels, table.index).all():  # crop codes (RPG CODE_CULTU)
        labels = table.loc[labels, "tier4"].to_numpy()
    unknown = sorted(set(labels) - set(table["tier4"]))
    if unknown:
        raise DataError(
            f"Labels {unknown[:8]} are neither tier-4 classes nor crop codes of the taxonomy: "
            "map them first, or pass your own table (taxonomy=ck.load_taxonomy(path))."
        )
    return {tier: np.asarray(taxonomy.roll_up(labels, int(tier[-1]))) for tier in TIERS}


def from_arrays(
    s2: np.ndarray,
    doy: np.ndarray,
    labels: np.ndarray,
    *,
    band_names: list[str] | None = None,
    valid: np.ndarray | None = None,
    s1: np.ndarray | None = None,
    s1_doy: np.ndarray | None = None,
    pol_names: list[str] | None = None,
    enmap: np.ndarray | None = None,
    wavelengths: np.ndarray | None = None,
    parcel: np.ndarray | None = None,
    split: np.ndarray | None = None,
    taxonomy=None,
    test_fraction: float = 0.2,
    val_fraction: float = 0.1,
    seed: int = 0,
) -> xr.Dataset:
    """A pixel dataset from your own arrays, ready for every pixel model.

    Use it for series that did not come through cropkit's pipeline (another archive,
    parcel-mean series, a benchmark data set).

    Parameters
    ----------
    s2 : numpy.ndarray
        Optical series ``(sample, time, band)`` (reflectance, NaN where missing).
    doy : numpy.ndarray
        Day of year of each date: ``(time,)`` shared, or ``(sample, time)`` per sample.
        Per-sample dates may be padded: a negative or NaN day marks a padded date,
        which attention ignores.
    labels : numpy.ndarray
        ``(sample,)`` tier-4 class names or crop codes of ``taxonomy``.
    band_names : list of str, optional
        Names of the bands (``B02`` ... for Sentinel-2 order; needed by the XGBoost
        NDVI feature).
    valid : numpy.ndarray, optional
        ``(sample, time)`` bool, True where observed (not gap-filled); finite values by
        default.
    s1, s1_doy, pol_names : optional
        Radar series ``(sample, time1, pol)`` on its own dates ``(time1,)``.
    enmap, wavelengths : optional
        A hyperspectral spectrum per sample ``(sample, wavelength)`` and its wavelengths.
    parcel : numpy.ndarray, optional
        ``(sample,)`` positive parcel (field) ids; every sample its own by default.
    split : numpy.ndarray, optional
        ``(sample,)`` ``"train"``/``"val"``/``"test"`` or codes 0/1/2; by default
        whole parcels are drawn at random to test, validation and training.
    test_fraction, val_fraction : float
        Shares of the parcels the default split draws to test and to validation.
    taxonomy : Taxonomy, optional
        Maps the labels to the four tiers; cropkit's table by default.
    seed : int
        Seed of the default split.

    Returns
    -------
    xarray.Dataset
        Like :func:`pixel_dataset`: ``s2``, ``valid``, ``s2_pad`` ``(sample, time)``,
        (``s1`` ``(sample, s1_time, pol)``, ``enmap``), ``tier4`` ... ``tier1``,
        ``parcel``, ``split``; coordinates ``doy``, ``row`` (the sample index), ``col``
        (0).

    Raises
    ------
    DataError
        If the shapes disagree or a label is not in the taxonomy.

    Examples
    --------
    >>> ds = from_arrays(x, doy=[15, 45, 75], labels=["BTH", "MIS", ...])  # doctest: +SKIP
    >>> ck.train.fit_and_score("ltae", ds)                               # doctest: +SKIP
    """
    from ..taxonomy import load_taxonomy

    s2 = np.asarray(s2, dtype=np.float32)
    if s2.ndim != 3:
        raise DataError(f"s2 must be (sample, time, band), not an array of shape {s2.shape}.")
    n, t, c = s2.shape
    doy = np.asarray(doy, dtype=float)
    if doy.shape not in ((t,), (n, t)):
        raise DataError(f"doy must be ({t},) or ({n}, {t}) for s2 of shape {s2.shape}.")
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise DataError(f"labels must be ({n},), one per sample, not {labels.shape}.")
    pad = ~np.isfinite(doy) | (doy < 0)
    doy = np.where(pad, 0, doy).astype(np.int16)
    dims = ("sample", "time") if doy.ndim == 2 else ("time",)
    parcel = np.arange(1, n + 1) if parcel is None else np.asarray(parcel)
    data = {
        "s2": (("sample", "time", "band"), s2),
        "valid": (
            ("sample", "time"),
            np.isfinite(s2).all(2) if valid is None else np.asarray(valid, bool),
        ),
        "s2_pad": (("sample", "time"), np.broadcast_to(pad, (n, t)).copy()),
        "parcel": ("sample", parcel.astype(np.int64)),
        "split": ("sample", _split_codes(split, parcel, test_fraction, val_fraction, seed)),
    }
    coords = {
        "band": band_names if band_names is not None else [f"b{i}" for i in range(c)],
        "doy": (dims, doy),
        "row": ("sample", np.arange(n, dtype=np.int32)),
        "col": ("sample", np.zeros(n, dtype=np.int32)),
    }
    if s1 is not None:
        s1 = np.asarray(s1, dtype=np.float32)
        if s1.ndim != 3 or s1.shape[0] != n or s1_doy is None or len(s1_doy) != s1.shape[1]:
            raise DataError(f"s1 must be ({n}, time1, pol) with s1_doy of length time1.")
        data["s1"] = (("sample", "s1_time", "pol"), s1)
        coords["s1_doy"] = ("s1_time", np.asarray(s1_doy, dtype=np.int16))
        coords["pol"] = pol_names or [f"p{i}" for i in range(s1.shape[2])]
    if enmap is not None:
        enmap = np.asarray(enmap, dtype=np.float32)
        if enmap.ndim != 2 or enmap.shape[0] != n:
            raise DataError(f"enmap must be ({n}, wavelength), not {enmap.shape}.")
        data["enmap"] = (("sample", "wavelength"), enmap)
        if wavelengths is not None:
            coords["wavelength"] = np.asarray(wavelengths, dtype=float)
    tiers = _tier_labels(labels, taxonomy or load_taxonomy())
    attrs = {}
    for tier, names in tiers.items():
        classes = sorted(set(names.tolist()))
        data[tier] = ("sample", np.searchsorted(classes, names).astype(np.int16))
        attrs[f"classes_{tier}"] = classes
    return xr.Dataset(data, coords=coords, attrs=attrs)
