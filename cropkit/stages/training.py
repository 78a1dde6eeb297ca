"""Notebook 04's stage: which composites a training run needs.

Training itself lives in :mod:`cropkit.experiments.fit` and :mod:`cropkit.trainer`; its products
are saved by :func:`cropkit.experiments.fit.save_result` and opened with :mod:`cropkit.products`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..access.providers import offered_sensors

if TYPE_CHECKING:
    from ..config import RunConfig

__all__ = ["training_inputs"]


def training_inputs(config: RunConfig, inputs: Iterable[str]) -> tuple[list[str], list[str]]:
    """The inputs the models read, and the composites the datasets are made of.

    A sensor of ``inputs`` that the run's provider does not offer (Earth Search has no
    Sentinel-1 or EnMAP) is left out with a note. The datasets carry every sensor the
    provider offers, whatever the models of this run read, so that a later model or
    study (``cropkit train --inputs s2 s1``, the input comparison) finds its stream.

    Returns
    -------
    inputs : list of str
        The offered ``inputs``.
    sensors : list of str
        The composites to load: every sensor the provider offers.

    Warns
    -----
    SensorSkippedWarning
        For each sensor of ``inputs`` left out.

    Raises
    ------
    ConfigError
        For a name that is no sensor.
    """
    provider = config.provider
    kept = offered_sensors(provider, inputs, "the models train")
    return kept, sorted(s for s in ("s2", "s1", "enmap") if s in provider.collections)
