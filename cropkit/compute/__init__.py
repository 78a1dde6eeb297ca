"""Pure compute on arrays.

Cloud masks, composites, gap filling, NDVI and other indices, profiles, labels, spatial
splits and metrics. Arrays in, arrays out; no I/O, no server.
"""

from __future__ import annotations

from ..core.lazy import submodule_loader

_MODULES = (
    "cloudmask",
    "composite",
    "folds",
    "gapfill",
    "indices",
    "labels",
    "metrics",
    "profiles",
    "splits",
)
__all__ = list(_MODULES)
__getattr__ = submodule_loader(__name__, _MODULES)
