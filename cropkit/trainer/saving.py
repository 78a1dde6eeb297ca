"""A trained deep classifier on disk: ``model.json``, ``weights.pt`` and ``history.csv``."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import torch

from ..datasets.torchdata import Standardiser, StreamSpec
from ..models import build_network
from .module import lightning_module

Classifier = TypeVar("Classifier")

__all__ = ["save_classifier", "load_classifier"]


def save_classifier(model: Any, folder: str | Path) -> Path:
    """Write a trained :class:`~cropkit.trainer.DeepClassifier` into ``folder``.

    ``model.json`` holds its settings, classes and training facts, ``weights.pt`` the
    weights, ``history.csv`` the training log.

    Returns
    -------
    Path
        ``folder``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(model.module.state_dict(), folder / "weights.pt")
    meta = {
        "name": model.name,
        "kind": model.kind,
        "model_params": model.model_params,
        "trainer_params": asdict(model.settings),
        "inputs": list(model.inputs),
        "seed": model.seed,
        "spec": model.spec.to_dict(),
        "info": model.info,
    }
    (folder / "model.json").write_text(json.dumps(meta, indent=2))
    if len(model.history):
        model.history.to_csv(folder / "history.csv", index=False)
    return folder


def load_classifier(cls: type[Classifier], folder: str | Path) -> Classifier:
    """Read a model written by :func:`save_classifier` (on the CPU), as a ``cls``."""
    folder = Path(folder)
    meta = json.loads((folder / "model.json").read_text())
    model = cls(
        meta["name"], meta["model_params"], meta["trainer_params"], meta["inputs"], meta["seed"]
    )
    model.spec = StreamSpec.from_dict(meta["spec"])
    network = build_network(model.name, model.spec, **model.model_params)
    state = torch.load(folder / "weights.pt", map_location="cpu", weights_only=True)
    stats = {
        s: (
            np.zeros(model.spec.channels[s], np.float32),
            np.ones(model.spec.channels[s], np.float32),
        )
        for s in model.inputs
    }
    weights = {t: torch.zeros(n) for t, n in model.spec.n_classes.items()}
    seen = torch.zeros(model.spec.n_classes["tier4"], dtype=torch.bool)
    module = lightning_module(
        network, Standardiser(stats), weights, seen, model.settings, 1, model.seed
    )
    module.load_state_dict(state)
    model.module = module.eval()
    model.info = meta["info"]
    if (folder / "history.csv").exists():
        model.history = pd.read_csv(folder / "history.csv")
    return model
