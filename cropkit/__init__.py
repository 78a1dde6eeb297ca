"""cropkit: crop-type mapping from satellite image time series, in notebooks.

The package backs a numbered sequence of notebooks. Submodules load on first use, so
``import cropkit as ck`` is cheap and has no side effects.

Main entry points
-----------------
``ck.RunConfig``       validated run parameters (region, year, STAC endpoint, ...)
``ck.connect``         open the STAC API of a run (starts the local demo API)
``ck.RunFolder``       the run folder and its manifest
``ck.build_demo``      simulate a demo region as COGs + STAC items
``ck.LocalStacServer`` a real STAC API (stac-fastapi-pgstac) on localhost
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "RunConfig": "cropkit.config",
    "connect": "cropkit.endpoint",
    "items_table": "cropkit.stac",
    "RunFolder": "cropkit.run",
    "build_demo": "cropkit.demo",
    "LocalStacServer": "cropkit.server",
    "get_region": "cropkit.regions",
    "region_names": "cropkit.regions",
    "load_taxonomy": "cropkit.taxonomy",
    "get_provider": "cropkit.providers",
}
_SUBMODULES = {
    "area_estimation",
    "attention",
    "attribution",
    "cloudmask",
    "confusion",
    "products",
    "cluster",
    "composite",
    "datasets",
    "metrics",
    "models",
    "robustness",
    "rpg",
    "studies",
    "splits",
    "torchdata",
    "loaders",
    "train",
    "trainer",
    "gapfill",
    "inference",
    "labels",
    "load",
    "profiles",
    "indices",
    "reader",
    "stacking",
    "native",
    "reflectance_check",
    "resample",
    "static_catalog",
    "store",
    "storage",
    "notebooks",
    "kernels",
    "reruns",
    "report",
    "parameters",
    "locks",
    "stages",
    "config",
    "demo",
    "endpoint",
    "seasons",
    "studyarea",
    "error_analysis",
    "errors",
    "paths",
    "plot",
    "providers",
    "regions",
    "run",
    "server",
    "stac",
    "taxonomy",
}

__all__ = sorted([*_LAZY, *_SUBMODULES, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"cropkit.{name}")
    raise AttributeError(f"module 'cropkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
