"""Sampling a dataset's rows and weighting its classes.

The class-balanced subsample every model trains on, and the loss weights that lift rare
classes.

In the data layer, so the XGBoost baseline and the deep trainer draw their subsamples the
same way without one importing the other.
"""

from __future__ import annotations

import numpy as np

__all__ = ["balanced_subsample", "class_weights"]


def balanced_subsample(y: np.ndarray, max_samples: int, seed: int = 0) -> np.ndarray:
    """Indices of at most ``max_samples`` rows, shared out as evenly as the classes allow.

    Each class gets an equal quota; what a small class leaves unused goes to the others.
    """
    if not max_samples or max_samples >= y.size:
        return np.arange(y.size)
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    take, left = {}, max_samples
    for i, c in enumerate(classes[np.argsort(counts)]):
        quota = left // (len(classes) - i)
        take[c] = min(int(counts[classes == c][0]), quota)
        left -= take[c]
    picked = [rng.choice(np.flatnonzero(y == c), k, replace=False) for c, k in take.items()]
    return np.sort(np.concatenate(picked))


def class_weights(y: np.ndarray, n_classes: int, power: float = 0.5) -> np.ndarray:
    """Loss weights that lift rare classes: ``(n / (K n_c)) ** power``, 0 for absent classes.

    Parameters
    ----------
    y : numpy.ndarray
        Class indices (``NO_LABEL`` is ignored).
    n_classes : int
        Number of classes ``K``.
    power : float
        1 is full inverse frequency, 0.5 (the default) its square root, 0 no weighting.

    Returns
    -------
    numpy.ndarray
        Dims ``(n_classes,)``, float32, mean 1 over the present classes.
    """
    y = np.asarray(y).ravel()
    counts = np.bincount(y[y >= 0], minlength=n_classes).astype(float)
    present = counts > 0
    weights = np.zeros(n_classes)
    weights[present] = (counts[present].sum() / (present.sum() * counts[present])) ** power
    weights[present] /= weights[present].mean()
    return weights.astype(np.float32)
