"""Models by name: a plain registry of classifiers and networks that share one contract.

Every model is registered under a short name with its settings in
``cropkit/models/configs/<name>.yaml``; :func:`model_settings` merges overrides into
them and checks their names. Two registries:

- :data:`MODELS`: classifiers with a training loop of their own (the XGBoost baseline);
- :data:`NETWORKS`: deep networks (:class:`~cropkit.models.base.CropModel`,
  ``forward(batch, return_attention=False)``), whose YAML has a ``model:`` section
  (architecture) and a ``trainer:`` section (epochs, batch size, learning rate, ...).
  :func:`build_network` gives the bare network; the trainer wraps it.

Every trained model keeps one contract, :class:`~cropkit.models.contract.Classifier`.
Assembling a trained model from a name (a network with its trainer, or a classifier) is
the job of the layer above, :func:`cropkit.experiments.classifiers.get_model` (``ck.get_model``)::

    model = ck.get_model("xgboost", max_depth=8)
    model = ck.get_model("ltae", d_model=256, epochs=50, inputs=("s2", "s1"))
    model.fit(train, val)          # datasets from cropkit.datasets (one split side each)
    labels = model.predict(test)   # tier-4 class indices per sample (or per pixel)

This package imports neither the trainer nor the experiments.
"""

from __future__ import annotations

import importlib
from importlib import resources
from typing import Any

import yaml

from ..core.errors import ConfigError, UnknownModelError
from .contract import Classifier

__all__ = [
    "MODELS",
    "NETWORKS",
    "Classifier",
    "model_config",
    "model_settings",
    "model_names",
    "model_inputs",
    "model_kind",
    "is_network",
    "check_model_names",
    "check_model_name",
    "classifier_class",
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
#: Arguments every model takes besides its config.
COMMON_ARGUMENTS = ("inputs", "seed")


def model_names() -> list[str]:
    """Names of the registered models."""
    return sorted({*MODELS, *NETWORKS})


def _load(target: str):
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


def check_model_name(name: str) -> None:
    """An :class:`UnknownModelError` listing the registered models, unless ``name`` is one."""
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
        check_model_name(name)
    return names


def model_kind(name: str) -> str:
    """``"pixel"`` or ``"patch"``: which dataset model ``name`` trains on."""
    check_model_name(name)
    return network_class(name).kind if name in NETWORKS else "pixel"  # XGBoost: pixels


def model_inputs(name: str) -> tuple[str, ...]:
    """Streams model ``name`` can read (``s2`` always among them)."""
    check_model_name(name)
    if name in NETWORKS:
        return tuple(network_class(name).supported_inputs)
    from ..datasets.torchdata import STREAMS

    return tuple(STREAMS)


def network_class(name: str):
    """The :class:`~cropkit.models.base.CropModel` class of a deep model."""
    check_model_name(name)
    if name not in NETWORKS:
        raise ConfigError(f"{name!r} is not a deep model; deep models: {sorted(NETWORKS)}.")
    return _load(NETWORKS[name])


def model_config(name: str) -> dict[str, Any]:
    """The default settings of ``name`` (its YAML config).

    Deep models give ``{"model": {...}, "trainer": {...}}``; others a flat dict.
    """
    check_model_name(name)
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


def is_network(name: str) -> bool:
    """Whether ``name`` is a deep network (trained by :mod:`cropkit.trainer`)."""
    check_model_name(name)
    return name in NETWORKS


def classifier_class(name: str):
    """The class of a classifier with its own training loop (:data:`MODELS`)."""
    check_model_name(name)
    if name not in MODELS:
        raise ConfigError(f"{name!r} is a deep network; use network_class({name!r}).")
    return _load(MODELS[name])


def model_settings(name: str, **overrides: Any) -> dict[str, Any]:
    """Model ``name``'s config with ``overrides`` in place, every name checked.

    Returns
    -------
    dict
        Deep networks: ``{"model": {...}, "trainer": {...}}`` plus the common arguments
        given (``inputs``, ``seed``); other classifiers: their keyword arguments.

    Raises
    ------
    UnknownModelError
        If the name is not registered (a ``ConfigError`` and a ``KeyError``; the message
        lists the known names).
    ConfigError
        If an override names a setting the model does not have.
    """
    check_model_name(name)
    config = model_config(name)
    if name in NETWORKS:
        model, trainer, common = _split_overrides(name, config, dict(overrides))
        return {"model": model, "trainer": trainer, **common}
    extra = classifier_class(name).extra_arguments
    unknown = sorted(set(overrides) - set(config) - set(extra))
    if unknown:
        raise ConfigError(
            f"Model {name!r} has no hyperparameters {unknown}; its hyperparameters are "
            f"{sorted(config)}."
        )
    return {**config, **overrides}


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
