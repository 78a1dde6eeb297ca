"""What users touch.

The notebook runner and its kernels, reruns over many regions, reports and the
``cropkit`` command line.
"""

from __future__ import annotations

from ..core.lazy import submodule_loader

_MODULES = ("cli", "kernels", "notebooks", "report", "reruns", "studies")
__all__ = list(_MODULES)
__getattr__ = submodule_loader(__name__, _MODULES)
