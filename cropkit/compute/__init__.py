"""Pure compute on arrays.

Pure compute on arrays: cloud masks, composites, gap filling, NDVI and other indices,
profiles, labels, spatial splits and metrics. Arrays in, arrays out; no I/O, no server.
"""

from __future__ import annotations

import importlib
from types import ModuleType

_MODULES = (
    "cloudmask",
    "composite",
    "gapfill",
    "indices",
    "labels",
    "metrics",
    "profiles",
    "splits",
)
__all__ = list(_MODULES)


def __getattr__(name: str) -> ModuleType:
    if name in _MODULES:  # submodules load on first use, as in the top-level package
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
