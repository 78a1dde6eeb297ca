"""Reading trained models.

Reading trained models: attention and attributions, confusion (tiers, parcels,
intervals, maps), error analysis and area estimation.
"""

from __future__ import annotations

import importlib
from types import ModuleType

_MODULES = ("area_estimation", "attention", "attribution", "confusion", "error_analysis")
__all__ = list(_MODULES)


def __getattr__(name: str) -> ModuleType:
    if name in _MODULES:  # submodules load on first use, as in the top-level package
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
