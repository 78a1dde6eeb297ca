"""The ground every layer stands on.

The ground every layer stands on: errors, paths, the crop taxonomy, regions and study
areas, seasons, the run folder with its manifest, locks and atomic stores, and the Dask
cluster. It imports nothing else from cropkit.
"""

from __future__ import annotations

import importlib
from types import ModuleType

_MODULES = (
    "cluster",
    "errors",
    "locks",
    "paths",
    "regions",
    "run",
    "seasons",
    "storage",
    "store",
    "studyarea",
    "taxonomy",
)
__all__ = list(_MODULES)


def __getattr__(name: str) -> ModuleType:
    if name in _MODULES:  # submodules load on first use, as in the top-level package
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
