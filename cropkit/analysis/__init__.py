"""Reading trained models.

Attention and attributions, what tells look-alike crops apart (pair probes), confusion
(tiers, parcels, intervals, maps), error analysis and area estimation.
"""

from __future__ import annotations

from ..core.lazy import submodule_loader

_MODULES = (
    "area_estimation",
    "attention",
    "attribution",
    "confusion",
    "error_analysis",
    "pairs",
)
__all__ = list(_MODULES)
__getattr__ = submodule_loader(__name__, _MODULES)
