"""Reading from the outside world.

Reading from the outside world: STAC search (:mod:`.stac`), providers' asset names and
offsets (:mod:`.providers`), loading cubes (:mod:`.load`, with :mod:`.stacking`,
:mod:`.native`, :mod:`.reader`, :mod:`.resample`), static catalogs, French RPG parcels
(:mod:`.rpg`) and the reflectance check. It knows nothing of models or notebooks.
"""

from __future__ import annotations

import importlib
from types import ModuleType

_MODULES = (
    "load",
    "native",
    "providers",
    "reader",
    "reflectance_check",
    "resample",
    "rpg",
    "stac",
    "stacking",
    "static_catalog",
)
__all__ = list(_MODULES)


def __getattr__(name: str) -> ModuleType:
    if name in _MODULES:  # submodules load on first use, as in the top-level package
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
