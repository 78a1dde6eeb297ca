"""Notebook 04's stage: which composites a training run needs.

Training itself lives in :mod:`cropkit.train` and :mod:`cropkit.trainer`; its products
are saved by :func:`cropkit.train.save_result` and opened with :mod:`cropkit.products`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import RunConfig

__all__ = ["training_inputs"]


def training_inputs(config: RunConfig, inputs: Iterable[str], compare: bool = False) -> list[str]:
    """The composites a training run needs.

    ``inputs`` themselves, plus (for a comparison) whichever of Sentinel-1 and EnMAP the
    run's provider offers.

    Raises
    ------
    ConfigError
        If the provider does not offer one of ``inputs``.
    """
    provider = config.provider
    wanted = list(inputs)
    for name in wanted:
        provider.collection(name)  # fails with the provider's offer
    extra = [name for name in ("s1", "enmap") if compare and name in provider.collections]
    return sorted({*wanted, *extra})
