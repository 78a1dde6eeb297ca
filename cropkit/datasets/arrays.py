"""A pixel dataset from your own arrays: series that did not come through cropkit.

:func:`from_arrays` gives the same layout as :func:`cropkit.datasets.pixel_dataset`
(streams, dates, observed mask, the four tiers, parcel, split), so every pixel model
and :func:`cropkit.experiments.fit.fit_and_score` take it as they take the pipeline's datasets.
The dataset carries the taxonomy its labels were mapped with, and numbers its classes
by that taxonomy, so datasets built in separate calls score each other correctly.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

from ..compute.indices import NDVI_BANDS
from ..compute.splits import SPLIT_NAMES, UNUSED, SplitWarning
from ..core.errors import DataError, TaxonomyError
from ..core.taxonomy import (
    CODE_MAPPINGS,
    TIERS,
    Taxonomy,
    flat_taxonomy,
    load_taxonomy,
    plain_names,
)

__all__ = ["from_arrays", "BandNamesWarning", "days_of_year"]

_SPLIT_CODES = {**{name: code for code, name in SPLIT_NAMES.items()}, "unused": UNUSED}


class BandNamesWarning(UserWarning):
    """The optical bands are unnamed, so band-specific features cannot be computed."""


def days_of_year(dates, origin: pd.Timestamp | None = None) -> tuple[np.ndarray, pd.Timestamp]:
    """Day numbers of ``dates``, counted on past 365 from 1 January of the first year.

    Parameters
    ----------
    dates : array-like
        ``datetime64`` values, any shape; ``NaT`` marks a padded date.
    origin : pandas.Timestamp, optional
        Day 0 (31 December before the first date's year by default).

    Returns
    -------
    days : numpy.ndarray
        Shaped as ``dates``, float (NaN where ``NaT``); 1 January of the first year is
        day 1, 12 January of the next year day 377 (or 378 after a leap year).
    origin : pandas.Timestamp
        The day 0 used, for other streams of the same samples.
    """
    values = pd.to_datetime(np.asarray(dates).ravel())
    if origin is None:
        first = values[~values.isna()].min()
        if pd.isna(first):
            raise DataError("Every date is missing (NaT); give at least one date.")
        origin = pd.Timestamp(year=first.year, month=1, day=1) - pd.Timedelta(days=1)
    days = np.asarray((values - origin).days, dtype=float)
    days[values.isna()] = np.nan
    return days.reshape(np.shape(dates)), origin


def _as_days(doy, name: str, origin: pd.Timestamp | None = None):
    """``doy`` as float day numbers (NaN or negative: padded) and the date origin."""
    values = np.asarray(doy)
    if values.dtype.kind in "MOU" or isinstance(doy, pd.DatetimeIndex):
        try:
            return days_of_year(values, origin)
        except (ValueError, TypeError) as err:
            raise DataError(
                f"{name} must be day numbers or dates (datetime64); could not read "
                f"{plain_names(values.ravel()[:3])} as dates ({err})."
            ) from err
    if values.dtype.kind not in "iuf":
        raise DataError(f"{name} must be day numbers or dates, not {values.dtype} values.")
    return values.astype(float), origin


def _check_increasing(days: np.ndarray, pad: np.ndarray, name: str) -> None:
    """Refuse dates that do not increase, naming the first place they fail."""
    rows = days.reshape(-1, days.shape[-1])
    pads = np.broadcast_to(pad, days.shape).reshape(rows.shape)
    # a date at or before the latest one before it (padding left out): all rows at once
    latest = np.maximum.accumulate(np.where(pads, -np.inf, rows), axis=1)
    wrong = (~pads[:, 1:] & (rows[:, 1:] <= latest[:, :-1])).any(axis=1)
    for i in np.flatnonzero(wrong)[:1]:  # the first such row, for the message
        row, skip = rows[i], pads[i]
        positions = np.flatnonzero(~skip)
        steps = np.diff(row[positions])
        if (steps <= 0).any():
            k = int(np.argmax(steps <= 0))
            at, before = positions[k + 1], positions[k]
            where = f"sample {i}, " if days.ndim == 2 else ""
            raise DataError(
                f"{name} must increase along time, but at {where}position {at} day "
                f"{row[at]:g} follows day {row[before]:g} (position {before}). A season across "
                "New Year counts on past 365 (12 January of the next year is day 377), or "
                "pass the dates themselves (datetime64)."
            )


def _split_codes(split, parcel: np.ndarray, test_fraction: float, val_fraction: float, seed):
    from ..compute.splits import random_codes

    if split is None:  # whole parcels to one side: no leak between pixels of a field
        train = 1 - test_fraction - val_fraction
        warnings.warn(
            f"No split given: whole parcels are drawn at random, {train:.0%} to training, "
            f"{val_fraction:.0%} to validation and {test_fraction:.0%} to test "
            f"(seed {seed}). Pass split= (names or codes) for your own, such as a spatial "
            "hold-out.",
            SplitWarning,
            stacklevel=3,
        )
        groups, inverse = np.unique(parcel, return_inverse=True)
        return random_codes(groups.shape, test_fraction, val_fraction, seed)[inverse]
    split = np.asarray(split)
    if split.dtype.kind in "USO":
        names = np.asarray(plain_names(split))
        bad = sorted(set(names.tolist()) - set(_SPLIT_CODES))
        if bad:
            raise DataError(f"split values {bad[:5]} are not 'train', 'val', 'test' or 'unused'.")
        return pd.Series(names).map(_SPLIT_CODES).to_numpy(np.int8)
    if not np.isin(split, list(_SPLIT_CODES.values())).all():
        raise DataError(
            f"split codes must be 0 (train), 1 (val), 2 (test) or {UNUSED} (unused), not "
            f"{sorted(set(split.tolist()) - set(_SPLIT_CODES.values()))[:5]}."
        )
    return split.astype(np.int8)


def _resolve_taxonomy(labels: np.ndarray, taxonomy) -> Taxonomy:
    """The taxonomy the labels are classes or codes of (see :func:`from_arrays`)."""
    if isinstance(taxonomy, xr.Dataset):  # the taxonomy of another dataset
        from .classes import dataset_taxonomy

        return dataset_taxonomy(taxonomy)
    if isinstance(taxonomy, str) and taxonomy == "flat":
        return flat_taxonomy(labels)
    if taxonomy is not None:
        return load_taxonomy(taxonomy)
    names = set(plain_names(labels))
    for mapping in CODE_MAPPINGS:  # cropkit's own tables: codes or tier-4 classes
        table = load_taxonomy(mapping)
        known = names & (set(plain_names(table.table.index)) | set(table.classes(4)))
        if known == names:
            return table
        if known and mapping == "rpg":
            raise TaxonomyError(
                f"Labels {sorted(names - known)[:8]} are not in cropkit's taxonomy while "
                f"{sorted(known)[:5]} are: map them to its classes, pass your own table "
                "(taxonomy=path or DataFrame with code, tier4 ... tier1), or "
                "taxonomy='flat' to take every label as a class of its own."
            )
    return flat_taxonomy(labels)


def _tier_indices(labels: np.ndarray, taxonomy: Taxonomy) -> dict[str, np.ndarray]:
    """Labels (tier-4 names or crop codes) -> class indices of every tier."""
    names = np.asarray(plain_names(labels), dtype=object)
    codes = set(plain_names(taxonomy.table.index))
    is_code = np.isin(names, list(codes)) & ~np.isin(names, taxonomy.classes(4))
    if is_code.any():
        table = taxonomy.table.set_axis(plain_names(taxonomy.table.index))
        names[is_code] = table.loc[names[is_code], "tier4"].to_numpy()
    unknown = sorted(set(names.tolist()) - set(taxonomy.classes(4)))
    if unknown:
        raise DataError(
            f"Labels {unknown[:8]} are neither tier-4 classes nor crop codes of the "
            f"{taxonomy.name} taxonomy: map them first, pass your own table "
            "(taxonomy=ck.load_taxonomy(path)), or taxonomy='flat'."
        )
    return {
        tier: taxonomy.index(taxonomy.roll_up(names, int(tier[-1])), tier).astype(np.int16)
        for tier in TIERS
    }


def _check_labels(labels, n: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise DataError(f"labels must be ({n},), one per sample, not {labels.shape}.")
    missing = pd.isna(labels) if labels.dtype.kind in "fOM" else np.zeros(n, bool)
    if missing.any():
        raise DataError(
            f"labels are missing at samples {np.flatnonzero(missing)[:8].tolist()}: drop "
            "those samples (or mark them split='unused' with a class)."
        )
    if labels.dtype.kind == "f":
        if not np.all(labels == np.round(labels)):
            raise DataError("Numeric labels must be whole class ids, not fractions.")
        labels = labels.astype(np.int64)
    return labels


def _observed(observed, valid, s2: np.ndarray) -> tuple[np.ndarray, str]:
    if valid is not None:
        if observed is not None:
            raise DataError("Give observed= only (valid= is its older name).")
        observed = valid
    n, t, _ = s2.shape
    if observed is None:
        return np.isfinite(s2).all(2), "finite values"
    observed = np.asarray(observed, dtype=bool)
    if observed.shape != (n, t):
        raise DataError(f"observed must be ({n}, {t}), one flag per sample and date.")
    return observed, "given"


def _band_names(band_names, c: int) -> list[str]:
    if band_names is None:
        warnings.warn(
            f"s2 has {c} unnamed bands (b0 ... b{c - 1}): the XGBoost baseline needs "
            f"{list(NDVI_BANDS)} (red, near infrared) for its NDVI features. Pass "
            "band_names=[...] with Sentinel-2 names ('B02', 'B03', 'B04', 'B08', ...).",
            BandNamesWarning,
            stacklevel=3,
        )
        return [f"b{i}" for i in range(c)]
    names = plain_names(band_names)
    if len(names) != c or len(set(names)) != c:
        raise DataError(f"band_names must name the {c} bands of s2 once each, not {names}.")
    return names


def from_arrays(
    s2: np.ndarray,
    doy,
    labels: np.ndarray,
    *,
    band_names: list[str] | None = None,
    observed: np.ndarray | None = None,
    s1: np.ndarray | None = None,
    s1_doy=None,
    pol_names: list[str] | None = None,
    enmap: np.ndarray | None = None,
    wavelengths: np.ndarray | None = None,
    parcel: np.ndarray | None = None,
    split: np.ndarray | None = None,
    fold: np.ndarray | None = None,
    taxonomy=None,
    test_fraction: float = 0.2,
    val_fraction: float = 0.1,
    seed: int = 0,
    valid: np.ndarray | None = None,
) -> xr.Dataset:
    """A pixel dataset from your own arrays, ready for every pixel model.

    Use it for series that did not come through cropkit's pipeline (another archive,
    parcel-mean series, WorldCereal or EuroCrops extractions).

    Parameters
    ----------
    s2 : numpy.ndarray
        Optical series ``(sample, time, band)`` (reflectance, NaN where missing).
    doy : array-like
        Dates of the series: ``(time,)`` shared or ``(sample, time)`` per sample, as
        day numbers or as dates (``datetime64``). Day numbers count from 1 January of
        the season's first year and go on past 365 across New Year (12 January of the
        next year is day 377); dates are turned into such numbers. They must increase
        along time. A negative or NaN day (or ``NaT``) marks a padded date, which
        attention ignores.
    labels : numpy.ndarray
        ``(sample,)`` tier-4 class names or crop codes of ``taxonomy``, or plain class
        names or integer ids with a flat taxonomy.
    band_names : list of str, optional
        Names of the bands (Sentinel-2's ``B02`` ...). The XGBoost baseline needs
        ``B04`` and ``B08`` for its NDVI feature; without names a
        :class:`BandNamesWarning` says so here.
    observed : numpy.ndarray, optional
        ``(sample, time)`` bool, True where the value was observed (not gap-filled or
        interpolated). By default a date counts as observed where every band is finite,
        which on gap-filled series is every date: pass the mask from before gap filling.
    s1, s1_doy, pol_names : optional
        Radar series ``(sample, time1, pol)`` on its own dates ``(time1,)`` (day numbers
        or dates, counted from the same origin as ``doy``).
    enmap, wavelengths : optional
        A hyperspectral spectrum per sample ``(sample, wavelength)`` and its wavelengths.
    parcel : numpy.ndarray, optional
        ``(sample,)`` positive parcel (field) ids; every sample its own by default.
    split : numpy.ndarray, optional
        ``(sample,)`` ``"train"``/``"val"``/``"test"``/``"unused"`` or the codes of
        :mod:`cropkit.compute.splits` (0, 1, 2, -1; unused samples stay in the dataset but
        on no side). By default whole parcels are drawn at random (70/10/20 % with the
        default fractions), announced with a :class:`~cropkit.compute.splits.SplitWarning`.
    fold : numpy.ndarray, optional
        ``(sample,)`` cross-validation fold of each sample (0, 1, ...; -1 for none).
    taxonomy : Taxonomy, str, DataFrame or xarray.Dataset, optional
        How labels map to the four tiers and number their classes: a
        :class:`~cropkit.core.taxonomy.Taxonomy`, ``"rpg"``/``"hcat3"``, the path of a
        table, a DataFrame (``code, tier4 ... tier1``), ``"flat"`` (every label a class
        of its own at every tier) or another dataset (its taxonomy: build the test set
        with ``taxonomy=train``). By default cropkit's table when every label is one of
        its codes or classes, else flat. A flat taxonomy made from these labels numbers
        only their classes: build train and test in one call (with ``split=``) or give
        both ``taxonomy=ck.taxonomy.flat_taxonomy(all_labels)``.
    test_fraction, val_fraction : float
        Shares of the parcels the default split draws to test and to validation.
    seed : int
        Seed of the default split.
    valid : numpy.ndarray, optional
        Older name of ``observed``.

    Returns
    -------
    xarray.Dataset
        Like :func:`pixel_dataset`: ``s2`` ``(sample, time, band)``, ``valid`` (the
        observed mask) and ``s2_pad`` ``(sample, time)``, (``s1``
        ``(sample, s1_time, pol)``, ``enmap`` ``(sample, wavelength)``), ``tier4`` ...
        ``tier1``, ``parcel``, ``split`` (and ``fold``) ``(sample,)``; coordinates
        ``doy``, ``row`` (the sample index), ``col`` (0). Attributes: the class names of
        every tier (``classes_tier4`` ..., the taxonomy's, in index order), the
        taxonomy (``taxonomy``, ``taxonomy_table``) and ``observed_from``.

    Raises
    ------
    DataError
        If the shapes disagree, the dates do not increase, or a label is not in the
        taxonomy.

    Examples
    --------
    >>> ds = from_arrays(x, doy=[15, 45, 75], labels=["BTH", "MIS", ...])  # doctest: +SKIP
    >>> ck.train.fit_and_score("ltae", ds)                               # doctest: +SKIP
    """
    s2 = np.asarray(s2, dtype=np.float32)
    if s2.ndim != 3:
        raise DataError(f"s2 must be (sample, time, band), not an array of shape {s2.shape}.")
    n, t, c = s2.shape
    bands = _band_names(band_names, c)
    days, origin = _as_days(doy, "doy")
    if days.shape not in ((t,), (n, t)):
        raise DataError(f"doy must be ({t},) or ({n}, {t}) for s2 of shape {s2.shape}.")
    labels = _check_labels(labels, n)
    pad = ~np.isfinite(days) | (days < 0)
    _check_increasing(days, pad, "doy")
    doy = np.where(pad, 0, days).astype(np.int16)
    dims = ("sample", "time") if doy.ndim == 2 else ("time",)
    parcel = np.arange(1, n + 1) if parcel is None else np.asarray(parcel)
    if parcel.shape != (n,):
        raise DataError(f"parcel must be ({n},), one id per sample, not {parcel.shape}.")
    observed, observed_from = _observed(observed, valid, s2)
    data = {
        "s2": (("sample", "time", "band"), s2),
        "valid": (("sample", "time"), observed),
        "s2_pad": (("sample", "time"), np.broadcast_to(pad, (n, t)).copy()),
        "parcel": ("sample", parcel.astype(np.int64)),
        "split": ("sample", _split_codes(split, parcel, test_fraction, val_fraction, seed)),
    }
    if fold is not None:
        fold = np.asarray(fold)
        if fold.shape != (n,) or fold.dtype.kind not in "iu":
            raise DataError(
                f"fold must be ({n},) whole fold numbers, not {fold.shape} {fold.dtype}."
            )
        data["fold"] = ("sample", fold.astype(np.int16))
    coords = {
        "band": bands,
        "doy": (dims, doy),
        "row": ("sample", np.arange(n, dtype=np.int32)),
        "col": ("sample", np.zeros(n, dtype=np.int32)),
    }
    if s1 is not None:
        s1 = np.asarray(s1, dtype=np.float32)
        if s1_doy is None or s1.ndim != 3 or s1.shape[0] != n:
            raise DataError(f"s1 must be ({n}, time1, pol) with s1_doy of length time1.")
        s1_days, _ = _as_days(s1_doy, "s1_doy", origin)
        if s1_days.shape != (s1.shape[1],):
            raise DataError(f"s1_doy must be ({s1.shape[1]},), one date per radar step.")
        _check_increasing(s1_days, ~np.isfinite(s1_days), "s1_doy")
        data["s1"] = (("sample", "s1_time", "pol"), s1)
        coords["s1_doy"] = ("s1_time", s1_days.astype(np.int16))
        coords["pol"] = (
            plain_names(pol_names) if pol_names else [f"p{i}" for i in range(s1.shape[2])]
        )
    if enmap is not None:
        enmap = np.asarray(enmap, dtype=np.float32)
        if enmap.ndim != 2 or enmap.shape[0] != n:
            raise DataError(f"enmap must be ({n}, wavelength), not {enmap.shape}.")
        data["enmap"] = (("sample", "wavelength"), enmap)
        if wavelengths is not None:
            coords["wavelength"] = np.asarray(wavelengths, dtype=float)
    taxonomy = _resolve_taxonomy(labels, taxonomy)
    for tier, index in _tier_indices(labels, taxonomy).items():
        data[tier] = ("sample", index)
    attrs = {f"classes_{tier}": taxonomy.classes(tier) for tier in TIERS}
    attrs.update(taxonomy.to_attrs(), observed_from=observed_from)
    if origin is not None:
        attrs["doy_origin"] = str(origin.date())
    return xr.Dataset(data, coords=coords, attrs=attrs)
