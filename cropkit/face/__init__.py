"""What users touch.

What users touch: the notebook runner and its kernels, reruns over many regions,
reports, notebook parameters and the ``cropkit`` command line.
"""

from __future__ import annotations

import importlib
from types import ModuleType

_MODULES = ("cli", "kernels", "notebooks", "report", "reruns")
__all__ = list(_MODULES)


def __getattr__(name: str) -> ModuleType:
    if name in _MODULES:  # submodules load on first use, as in the top-level package
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
