"""cropkit: crop-type mapping from satellite image time series, in notebooks.

The package backs a numbered sequence of notebooks. Submodules load on first use, so
``import cropkit as ck`` is cheap and has no side effects.

Main entry points
-----------------
``ck.RunConfig``       validated run parameters (region, year, STAC endpoint, ...)
``ck.open_source``     what a run reads: its STAC API, parcels and truth (the demo's door)
``ck.connect``         open the STAC API of a run (starts the local demo API)
``ck.RunFolder``       the run folder and its manifest
``ck.build_demo``      simulate a demo region as COGs + STAC items
``ck.LocalStacServer`` a real STAC API (stac-fastapi-pgstac) on localhost
``ck.get_model``       a model by name (``ck.load_model``: a saved one)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "RunConfig": "cropkit.config",
    "connect": "cropkit.endpoint",
    "open_source": "cropkit.endpoint",
    "items_table": "cropkit.access.stac",
    "RunFolder": "cropkit.core.run",
    "build_demo": "cropkit.demo",
    "LocalStacServer": "cropkit.server",
    "get_region": "cropkit.core.regions",
    "region_names": "cropkit.core.regions",
    "load_taxonomy": "cropkit.core.taxonomy",
    "get_provider": "cropkit.access.providers",
    "get_model": "cropkit.experiments.classifiers",
    "load_model": "cropkit.experiments.classifiers",
}
#: ``ck.<name>`` -> the module it names: the layers, and every module by its short name
#: (``ck.composite`` is :mod:`cropkit.compute.composite`), as notebooks and README use them.
_SUBMODULES = {
    "access": "cropkit.access",
    "analysis": "cropkit.analysis",
    "area_estimation": "cropkit.analysis.area_estimation",
    "attention": "cropkit.analysis.attention",
    "attribution": "cropkit.analysis.attribution",
    "cli": "cropkit.face.cli",
    "cloudmask": "cropkit.compute.cloudmask",
    "cluster": "cropkit.core.cluster",
    "composite": "cropkit.compute.composite",
    "compute": "cropkit.compute",
    "config": "cropkit.config",
    "confusion": "cropkit.analysis.confusion",
    "core": "cropkit.core",
    "datasets": "cropkit.datasets",
    "demo": "cropkit.demo",
    "endpoint": "cropkit.endpoint",
    "error_analysis": "cropkit.analysis.error_analysis",
    "errors": "cropkit.core.errors",
    "experiments": "cropkit.experiments",
    "face": "cropkit.face",
    "folds": "cropkit.compute.folds",
    "gapfill": "cropkit.compute.gapfill",
    "hierarchy": "cropkit.models.hierarchy",
    "indices": "cropkit.compute.indices",
    "inference": "cropkit.experiments.inference",
    "kernels": "cropkit.face.kernels",
    "labels": "cropkit.compute.labels",
    "load": "cropkit.access.load",
    "loaders": "cropkit.datasets.loaders",
    "locks": "cropkit.core.locks",
    "metrics": "cropkit.compute.metrics",
    "models": "cropkit.models",
    "native": "cropkit.access.native",
    "notebooks": "cropkit.face.notebooks",
    "pairs": "cropkit.analysis.pairs",
    "parameters": "cropkit.stages.parameters",
    "paths": "cropkit.core.paths",
    "plot": "cropkit.plot",
    "profiles": "cropkit.compute.profiles",
    "providers": "cropkit.access.providers",
    "reader": "cropkit.access.reader",
    "reflectance_check": "cropkit.access.reflectance_check",
    "regions": "cropkit.core.regions",
    "report": "cropkit.face.report",
    "reruns": "cropkit.face.reruns",
    "resample": "cropkit.access.resample",
    "robustness": "cropkit.experiments.robustness",
    "rpg": "cropkit.access.rpg",
    "run": "cropkit.core.run",
    "seasons": "cropkit.core.seasons",
    "server": "cropkit.server",
    "splits": "cropkit.compute.splits",
    "stac": "cropkit.access.stac",
    "stacking": "cropkit.access.stacking",
    "stages": "cropkit.stages",
    "static_catalog": "cropkit.access.static_catalog",
    "storage": "cropkit.core.storage",
    "store": "cropkit.core.store",
    "studies": "cropkit.experiments.studies",
    "study": "cropkit.experiments.study",
    "pooling": "cropkit.experiments.pooling",
    "studyarea": "cropkit.core.studyarea",
    "taxonomy": "cropkit.core.taxonomy",
    "torchdata": "cropkit.datasets.torchdata",
    "train": "cropkit.experiments.fit",
    "trainer": "cropkit.trainer",
}

__all__ = sorted([*_LAZY, *_SUBMODULES, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(_SUBMODULES[name])
    raise AttributeError(f"module 'cropkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
