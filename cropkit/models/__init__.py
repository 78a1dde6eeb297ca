"""Models by name: a plain registry of classifiers that share one contract.

Every model is registered under a short name and built with its settings from
``cropkit/models/configs/<name>.yaml``; keyword arguments override the file::

    model = ck.models.get_model("xgboost", max_depth=8)
    model = ck.models.get_model("ltae", d_model=256, epochs=50, inputs=("s2", "s1"))
    model.fit(train, val)          # datasets from cropkit.datasets (one split side each)
    labels = model.predict(test)   # tier-4 class indices per sample (or per pixel)

Every model has ``name``, ``kind`` (``"pixel"`` or ``"patch"``: which dataset it eats),
``inputs`` (the streams it reads), ``fit(train, val=None)``, ``predict(ds)``,
``predict_proba(ds)``, ``save(folder)`` and the class method ``load(folder)``.

Deep models are :class:`~cropkit.models.base.CropModel` networks
(``forward(batch, return_attention=False)``, see :mod:`cropkit.models.base`). Their
YAML has a ``model:`` section (architecture) and a ``trainer:`` section (epochs, batch
size, learning rate, precision, ...); :func:`get_model` wraps them in the trainer's
:class:`cropkit.trainer.DeepClassifier`, looked up by name so that this package never
imports the trainer. :func:`build_network` gives the bare network.
"""

from __future__ import annotations

import importlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import ConfigError, UnknownModelError

__all__ = [
    "MODELS",
    "NETWORKS",
    "get_model",
    "model_config",
    "model_names",
    "model_inputs",
    "model_kind",
    "check_model_names",
    "load_model",
    "build_network",
    "network_class",
]

#: Classifiers with their own training loop: name -> ``"module:Class"``.
MODELS: dict[str, str] = {
    "xgboost": "cropkit.models.xgboost_pixel:XGBoostPixel",
}
#: Deep networks trained by :mod:`cropkit.trainer`: name -> ``"module:Class"``.
NETWORKS: dict[str, str] = {
    "ltae": "cropkit.models.ltae:LTAE",
    "tempcnn": "cropkit.models.tempcnn:TempCNN",
    "utae": "cropkit.models.utae:UTAE",
    "tempcnn_unet": "cropkit.models.tempcnn_unet:TempCNNUNet",
    "attention3dcnn": "cropkit.models.attention3dcnn:Attention3DCNN",
    "dual_stream": "cropkit.models.dual_stream:DualStream",
}
_DEEP_ESTIMATOR = "cropkit.trainer:DeepClassifier"
#: Arguments every model takes besides its config.
COMMON_ARGUMENTS = ("inputs", "seed")


def model_names() -> list[str]:
    """Names of the registered models."""
    return sorted({*MODELS, *NETWORKS})


def _load(target: str):
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


def _check_name(name: str) -> None:
    if name not in MODELS and name not in NETWORKS:
        raise UnknownModelError(f"Unknown model {name!r}; registered models: {model_names()}.")


def check_model_names(names) -> list[str]:
    """``names`` as a list, or an :class:`UnknownModelError` naming the first unknown one.

    Notebooks call it in their first cells, before anything is written.
    """
    names = [names] if isinstance(names, str) else list(names)
    if not names:
        raise ConfigError(f"Name at least one model; registered models: {model_names()}.")
    for name in names:
        if not isinstance(name, str):
            raise ConfigError(f"Model names are strings, not {name!r}.")
        _check_name(name)
    return names


def model_kind(name: str) -> str:
    """``"pixel"`` or ``"patch"``: which dataset model ``name`` trains on."""
    _check_name(name)
    return network_class(name).kind if name in NETWORKS else "pixel"


def model_inputs(name: str) -> tuple[str, ...]:
    """Streams model ``name`` can read (``s2`` always among them)."""
    _check_name(name)
    if name in NETWORKS:
        return tuple(network_class(name).supported_inputs)
    from ..datasets.torchdata import STREAMS

    return tuple(STREAMS)


def network_class(name: str):
    """The :class:`~cropkit.models.base.CropModel` class of a deep model."""
    _check_name(name)
    if name not in NETWORKS:
        raise ConfigError(f"{name!r} is not a deep model; deep models: {sorted(NETWORKS)}.")
    return _load(NETWORKS[name])


def model_config(name: str) -> dict[str, Any]:
    """The default settings of ``name`` (its YAML config).

    Deep models give ``{"model": {...}, "trainer": {...}}``; others a flat dict.
    """
    _check_name(name)
    text = resources.files(__name__).joinpath("configs", f"{name}.yaml").read_text()
    return dict(yaml.safe_load(text) or {})


def _split_overrides(name: str, config: dict, overrides: dict) -> tuple[dict, dict, dict]:
    sections = {"model": dict(config["model"]), "trainer": dict(config["trainer"])}
    common = {k: overrides.pop(k) for k in COMMON_ARGUMENTS if k in overrides}
    for key in ("model", "trainer"):  # whole sections may be given as dicts
        if isinstance(overrides.get(key), dict):
            for k, v in overrides.pop(key).items():
                overrides[k] = v
    unknown = sorted(set(overrides) - set(sections["model"]) - set(sections["trainer"]))
    if unknown:
        raise ConfigError(
            f"Model {name!r} has no settings {unknown}; its architecture settings are "
            f"{sorted(sections['model'])} and its trainer settings "
            f"{sorted(sections['trainer'])}."
        )
    for key, value in overrides.items():
        sections["model" if key in sections["model"] else "trainer"][key] = value
    return sections["model"], sections["trainer"], common


def get_model(name: str, **overrides: Any):
    """Build model ``name`` with its config, ``overrides`` replacing config values.

    Raises
    ------
    UnknownModelError
        If the name is not registered (a ``ConfigError`` and a ``KeyError``; the message
        lists the known names).
    ConfigError
        If an override names a setting the model does not have, or has a bad value.
    """
    _check_name(name)
    config = model_config(name)
    if name in NETWORKS:
        model, trainer, common = _split_overrides(name, config, dict(overrides))
        return _load(_DEEP_ESTIMATOR)(name, model, trainer, **common)
    cls = _load(MODELS[name])
    unknown = sorted(set(overrides) - set(config) - set(getattr(cls, "extra_arguments", ())))
    if unknown:
        raise ConfigError(
            f"Model {name!r} has no hyperparameters {unknown}; its hyperparameters are "
            f"{sorted(config)}."
        )
    return cls(**{**config, **overrides})


def build_network(name: str, spec, **model_params: Any):
    """The bare network of deep model ``name`` for a ``StreamSpec``.

    ``model_params`` override the ``model:`` section of its config.
    """
    cls = network_class(name)
    params = dict(model_config(name)["model"])
    unknown = sorted(set(model_params) - set(params))
    if unknown:
        raise ConfigError(
            f"{name} has no architecture settings {unknown}; it has {sorted(params)}."
        )
    return cls(spec, **{**params, **model_params})


def load_model(folder) -> Any:
    """Load a model saved with ``model.save(folder)`` (its ``model.json`` names it)."""
    meta_path = Path(folder) / "model.json"
    if not meta_path.exists():
        raise ConfigError(f"{meta_path} does not exist: save a model there first.")
    name = json.loads(meta_path.read_text())["name"]
    _check_name(name)
    cls = _load(_DEEP_ESTIMATOR) if name in NETWORKS else _load(MODELS[name])
    return cls.load(folder)
