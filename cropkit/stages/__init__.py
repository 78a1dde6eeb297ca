"""One module per notebook stage, each owning its products.

========================  ====================================================
:mod:`.discovery`         notebook 01: the run's items (searched or recorded)
:mod:`.masking`           notebook 02: masked Sentinel-2, mask scores, summary
:mod:`.composites`        notebook 03: gap-filled composites, their names and grid
:mod:`.parcels`           notebooks 03-06: the run's checked parcels
:mod:`.training`          notebook 04: the inputs a training run needs
========================  ====================================================

A stage reads what the stages before it chose from the run's manifest (the SCL
classes of notebook 02, the compositing period of notebook 03, the parcel file of
notebook 04), so each notebook also runs on its own. The products of notebooks 04-06
are opened with :mod:`cropkit.products`.
"""

from __future__ import annotations

import importlib
from typing import Any

_STAGES = ("discovery", "masking", "composites", "parcels", "training")
__all__ = list(_STAGES)


def __getattr__(name: str) -> Any:
    if name in _STAGES:
        return importlib.import_module(f"cropkit.stages.{name}")
    raise AttributeError(f"module 'cropkit.stages' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
