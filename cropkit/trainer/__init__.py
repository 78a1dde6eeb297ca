"""Training deep models with Lightning (see :mod:`cropkit.trainer.estimator`).

:class:`DeepClassifier` is what :func:`cropkit.experiments.classifiers.get_model` gives for a
deep model; :class:`TrainerSettings` is the ``trainer:`` section of its config.
"""

from .estimator import DeepClassifier
from .settings import PRECISIONS, TrainerSettings, resolve_device, resolve_precision

__all__ = ["DeepClassifier", "TrainerSettings", "PRECISIONS", "resolve_device", "resolve_precision"]
