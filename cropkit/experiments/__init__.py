"""Training, scoring and studying models.

Training and scoring models by name (:mod:`.fit`), zone inference, robustness to
clouds and studies over many runs.
"""

from __future__ import annotations

from ..core.lazy import submodule_loader

_MODULES = (
    "classifiers",
    "fit",
    "inference",
    "pooling",
    "robustness",
    "studies",
    "study",
    "verdicts",
)
__all__ = list(_MODULES)
__getattr__ = submodule_loader(__name__, _MODULES)
