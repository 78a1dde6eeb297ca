"""Training, scoring and studying models.

Training and scoring models by name (:mod:`.fit`), zone inference, robustness to
clouds and studies over many runs.
"""

from __future__ import annotations

import importlib
from types import ModuleType

_MODULES = ("fit", "inference", "robustness", "studies")
__all__ = list(_MODULES)


def __getattr__(name: str) -> ModuleType:
    if name in _MODULES:  # submodules load on first use, as in the top-level package
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
