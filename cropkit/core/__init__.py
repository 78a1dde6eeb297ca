"""The ground every layer stands on.

Errors, paths, the crop taxonomy, regions and study areas, seasons, the run folder with
its manifest, locks and atomic stores, the Dask cluster, lazy submodules. It imports
nothing else from cropkit.
"""

from __future__ import annotations

from .lazy import submodule_loader

_MODULES = (
    "cluster",
    "errors",
    "lazy",
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
__getattr__ = submodule_loader(__name__, _MODULES)
