"""Packages whose submodules load on first use (``ck.compute.composite``)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType

__all__ = ["submodule_loader"]


def submodule_loader(package: str, modules: tuple[str, ...]) -> Callable[[str], ModuleType]:
    """A module-level ``__getattr__`` for ``package`` that imports ``modules`` when asked.

    Examples
    --------
    In a package's ``__init__``::

        _MODULES = ("cloudmask", "composite")
        __getattr__ = submodule_loader(__name__, _MODULES)
    """

    def __getattr__(name: str) -> ModuleType:
        if name in modules:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
