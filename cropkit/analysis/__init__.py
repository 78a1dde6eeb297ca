"""Reading trained models.

Attention and attributions, confusion (tiers, parcels,
intervals, maps), error analysis and area estimation.
"""

from __future__ import annotations

from ..core.lazy import submodule_loader

_MODULES = ("area_estimation", "attention", "attribution", "confusion", "error_analysis")
__all__ = list(_MODULES)
__getattr__ = submodule_loader(__name__, _MODULES)
