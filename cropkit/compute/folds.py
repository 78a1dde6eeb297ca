"""Spatial folds for cross-validation: whole parcels dealt to folds by block or by place.

:func:`block_kfold` deals square blocks of the label grid to ``k`` folds;
:func:`coordinate_folds` deals samples given by their coordinates (your own parcel
series) the same way; :func:`fold_split` and :func:`fold_codes` turn a fold into the
train/validation/test codes of :mod:`.splits`.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from ..core.errors import DataError
from .splits import TEST, TRAIN, UNUSED, VAL, _as_layer, _paint, parcel_table

__all__ = ["block_kfold", "coordinate_folds", "fold_split", "fold_codes"]


def block_kfold(labels: xr.Dataset, k: int = 5, block_px: int = 64, seed: int = 0) -> xr.DataArray:
    """Spatial k-fold: square blocks of whole parcels dealt into ``k`` folds.

    Blocks are shuffled and each goes to the fold with the fewest pixels so far, which
    keeps the folds close in size. A parcel belongs to the block of its centre pixel.

    Parameters
    ----------
    labels : xarray.Dataset
        With the ``parcel`` layer.
    k : int
        Number of folds (at least 2).
    block_px : int
        Side of the blocks in pixels; larger than the spatial autocorrelation range of
        the errors (a few parcels across).
    seed : int
        Seed of the shuffle.

    Returns
    -------
    xarray.DataArray
        Dims ``(y, x)``, int8 fold index ``0 .. k-1``, :data:`UNUSED` outside parcels.
        Fold ``i`` is the test set of round ``i``; see :func:`fold_split`.

    Raises
    ------
    DataError
        If there are fewer blocks with parcels than folds.
    """
    if k < 2:
        raise DataError(f"Cross-validation needs at least 2 folds (folds={k}); use 0 to skip it.")
    table = parcel_table(labels["parcel"], block_px)
    blocks = table.groupby("block")["pixels"].sum()
    if len(blocks) < k:
        raise DataError(
            f"Only {len(blocks)} blocks of {block_px} px hold parcels, fewer than folds={k}: "
            "use a smaller block_px or fewer folds."
        )
    rng = np.random.default_rng(seed)
    load = np.zeros(k)
    fold_of_block = {}
    for block in rng.permutation(blocks.index.to_numpy()):
        fold = int(np.argmin(load))
        fold_of_block[block] = fold
        load[fold] += blocks[block]
    folds = table["block"].map(fold_of_block).astype(np.int8)
    return _as_layer(
        _paint(labels["parcel"].values, folds), labels, "fold", k=k, block_px=block_px, seed=seed
    )


def coordinate_folds(
    x: np.ndarray,
    y: np.ndarray,
    k: int = 5,
    block: float = 5000.0,
    labels: np.ndarray | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Spatial k-fold for samples with coordinates: square blocks dealt into ``k`` folds.

    The samples' own spatial :func:`block_kfold`, for series that come without a grid
    (:func:`cropkit.datasets.from_arrays`): every sample of a block lands in one fold,
    so neighbouring fields never sit on both sides. With ``labels``, blocks are dealt
    so that each fold holds each class in about the same share (scikit-learn's
    ``StratifiedGroupKFold``); without, to even fold sizes.

    Parameters
    ----------
    x, y : numpy.ndarray
        ``(sample,)`` coordinates (metres of a projected CRS, or degrees).
    k : int
        Number of folds (at least 2).
    block : float
        Side of the blocks in the unit of ``x`` and ``y``: larger than the range at which
        neighbouring samples look alike (5 km; about 0.05 degrees).
    labels : numpy.ndarray, optional
        ``(sample,)`` classes to stratify by.
    seed : int
        Seed of the deal.

    Returns
    -------
    numpy.ndarray
        ``(sample,)`` int16 fold index ``0 .. k-1`` (pass it as ``from_arrays(fold=)``;
        :func:`fold_codes` gives the split of each round).

    Raises
    ------
    DataError
        If the coordinates are not finite or fall in fewer blocks than ``k``.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise DataError("x and y must be finite (sample,) coordinates of the same length.")
    if k < 2:
        raise DataError(f"Cross-validation needs at least 2 folds, not k={k}.")
    cells = np.floor(x / block).astype(np.int64) * 10_000_019 + np.floor(y / block).astype(np.int64)
    _, group = np.unique(cells, return_inverse=True)
    if group.max() + 1 < k:
        raise DataError(
            f"The samples fall in {group.max() + 1} blocks of {block:g}, fewer than k={k}: use "
            "a smaller block or fewer folds."
        )
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    folds = np.zeros(x.size, dtype=np.int16)
    if labels is None:
        dealer = GroupKFold(k, shuffle=True, random_state=seed)
        rounds = dealer.split(x, groups=group)
    else:
        dealer = StratifiedGroupKFold(k, shuffle=True, random_state=seed)
        rounds = dealer.split(x, np.asarray(labels).astype(str), group)
    with warnings.catch_warnings():  # a class rarer than k cannot be in every fold: fine
        warnings.filterwarnings("ignore", "The least populated class")
        for fold, (_, test) in enumerate(rounds):
            folds[test] = fold
    return folds


def fold_split(folds: xr.DataArray, test_fold: int, val_fold: int | None = None) -> xr.DataArray:
    """The split of one cross-validation round: ``test_fold`` tests, the rest trains.

    Parameters
    ----------
    folds : xarray.DataArray
        From :func:`block_kfold`.
    test_fold : int
        Fold held out for testing.
    val_fold : int, optional
        Fold used for validation (early stopping); by default the next fold (none when
        there are only two folds).
    """
    k = int(folds.attrs.get("k", int(folds.max()) + 1))
    if not 0 <= test_fold < k:
        raise DataError(f"test_fold must be between 0 and {k - 1}, not {test_fold}.")
    split = fold_codes(folds.values, test_fold, k, val_fold)
    return folds.copy(data=split).rename("split").assign_attrs(kind="block-fold", fold=test_fold)


def fold_codes(
    folds: np.ndarray, test_fold: int, k: int, val_fold: int | None = None
) -> np.ndarray:
    """Split codes of one cross-validation round from fold indices (any shape).

    ``test_fold`` tests, ``val_fold`` (the next fold by default; none with two folds, so
    that one fold is left to train on) validates, the other folds train; negative fold
    indices stay :data:`UNUSED`.
    """
    if val_fold is None and k > 2:
        val_fold = (test_fold + 1) % k
    folds = np.asarray(folds)
    split = np.full(folds.shape, TRAIN, dtype=np.int8)
    if val_fold is not None:
        split[folds == val_fold] = VAL
    split[folds == test_fold] = TEST
    split[folds < 0] = UNUSED
    return split
