"""Trained models by name: a registered network with its trainer, or a classifier.

The one place that turns a model name into a :class:`~cropkit.models.Classifier`, so
:mod:`cropkit.models` never reaches up to the trainer::

    model = ck.get_model("ltae", epochs=10, inputs=("s2", "s1"))
    model = ck.load_model(run.path / "models" / "ltae")
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError
from ..models import Classifier, check_model_name, classifier_class, is_network, model_settings

__all__ = ["get_model", "load_model"]


def get_model(name: str, **overrides: Any) -> Classifier:
    """Build model ``name`` with its config, ``overrides`` replacing config values.

    Deep networks come wrapped in :class:`~cropkit.trainer.DeepClassifier`; the others
    are their own classifier (:data:`cropkit.models.MODELS`).

    Raises
    ------
    UnknownModelError
        If the name is not registered (the message lists the known names).
    ConfigError
        If an override names a setting the model does not have, or has a bad value.
    """
    settings = model_settings(name, **overrides)
    if is_network(name):
        from ..trainer import DeepClassifier

        return DeepClassifier(name, settings.pop("model"), settings.pop("trainer"), **settings)
    return classifier_class(name)(**settings)


def load_model(folder: str | Path) -> Classifier:
    """Load a model saved with ``model.save(folder)`` (its ``model.json`` names it)."""
    meta_path = Path(folder) / "model.json"
    if not meta_path.exists():
        raise ConfigError(f"{meta_path} does not exist: save a model there first.")
    name = json.loads(meta_path.read_text())["name"]
    check_model_name(name)
    if is_network(name):
        from ..trainer import DeepClassifier

        return DeepClassifier.load(folder)
    return classifier_class(name).load(folder)
