"""Reading from the outside world.

STAC search (:mod:`.stac`), providers' asset names and
offsets (:mod:`.providers`), loading cubes (:mod:`.load`, with :mod:`.stacking`,
:mod:`.native`, :mod:`.reader`, :mod:`.resample`), static catalogs, French RPG parcels
(:mod:`.rpg`) and the reflectance check. It knows nothing of models or notebooks.
"""

from __future__ import annotations

from ..core.lazy import submodule_loader

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
__getattr__ = submodule_loader(__name__, _MODULES)
