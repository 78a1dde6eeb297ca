"""Sampling a dataset's rows: the class-balanced subsample every model trains on.

In the data layer, so the XGBoost baseline and the deep trainer draw their subsamples the
same way without one importing the other.
"""

from __future__ import annotations

import numpy as np

__all__ = ["balanced_subsample"]


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
