"""Models by name: a plain registry of classifiers that share one contract.

Every model is registered under a short name and built with its hyperparameters from
``cropkit/models/configs/<name>.yaml``; keyword arguments override the file::

    model = ck.models.get_model("xgboost", max_depth=8)
    model.fit(train, val)          # datasets from cropkit.datasets.pixel_dataset
    labels = model.predict(test)   # tier class indices, dims (sample,)

A model has ``name``, ``kind`` (``"pixel"`` or ``"patch"``: which dataset it eats),
``inputs`` (the sensors it reads), ``fit(train, val=None)``, ``predict(ds)``,
``predict_proba(ds)``, ``save(folder)`` and the class method ``load(folder)``. Deep
time-series models will add ``forward(x, doy, pad_mask=None, return_attention=False)``.
"""

from __future__ import annotations

import importlib
from importlib import resources
from typing import Any

import yaml

from ..errors import ConfigError

__all__ = ["MODELS", "get_model", "model_config", "model_names", "load_model"]

#: Registered models: name -> ``"module:Class"`` (imported on first use).
MODELS: dict[str, str] = {
    "xgboost": "cropkit.models.xgboost_pixel:XGBoostPixel",
}


def model_names() -> list[str]:
    """Names of the registered models."""
    return sorted(MODELS)


def _model_class(name: str):
    if name not in MODELS:
        raise KeyError(f"Unknown model {name!r}; registered models: {model_names()}.")
    module, cls = MODELS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def model_config(name: str) -> dict[str, Any]:
    """The default hyperparameters of ``name`` (from its YAML config)."""
    _model_class(name)
    text = resources.files(__name__).joinpath("configs", f"{name}.yaml").read_text()
    return dict(yaml.safe_load(text) or {})


def get_model(name: str, **overrides: Any):
    """Build model ``name`` with its config, ``overrides`` replacing config values.

    Raises
    ------
    KeyError
        If the name is not registered (the message lists the known names).
    ConfigError
        If an override names a hyperparameter the model does not have.
    """
    cls = _model_class(name)
    params = model_config(name)
    unknown = sorted(set(overrides) - set(params) - set(getattr(cls, "extra_arguments", ())))
    if unknown:
        raise ConfigError(
            f"Model {name!r} has no hyperparameters {unknown}; its hyperparameters are "
            f"{sorted(params)}."
        )
    params.update(overrides)
    return cls(**params)


def load_model(folder) -> Any:
    """Load a model saved with ``model.save(folder)`` (its ``model.json`` names the class)."""
    import json
    from pathlib import Path

    meta_path = Path(folder) / "model.json"
    if not meta_path.exists():
        raise ConfigError(f"{meta_path} does not exist: save a model there first.")
    name = json.loads(meta_path.read_text())["name"]
    return _model_class(name).load(folder)
