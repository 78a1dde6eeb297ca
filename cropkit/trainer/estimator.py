"""Training deep models with Lightning: one estimator for every registered network.

:class:`DeepClassifier` gives a deep network the same contract as the XGBoost baseline
(``fit(train, val)``, ``predict``, ``predict_proba``, ``save``, ``load``), so notebook 04
and :mod:`cropkit.experiments.fit` treat every model alike. Underneath, Lightning runs the loop:

- precision ``bf16-mixed`` on a GPU and fp32 on a CPU (``precision: auto``), optional
  ``torch.compile``;
- AdamW with linear warm-up and cosine decay, gradient clipping;
- class-weighted cross-entropy per tier (ignore index ``-1``), summed over the tiers the
  network predicts;
- early stopping on the validation tier-4 macro F1 (torchmetrics);
- ``best.ckpt`` and ``last.ckpt`` checkpoints, and **resume** from ``last.ckpt`` after a
  kill, reaching the same weights as an uninterrupted run (the batch order of epoch
  ``e`` and the dropout of its batch ``b`` depend only on the seed, ``e`` and ``b``);
- a time budget (``max_minutes``) that the learning-rate schedule is fitted to, and
  batch sizes sized from the data (``"auto"``; see :mod:`cropkit.trainer.budget`);
- a progress bar and a CSV log (loss, F1, learning rate, samples/s, share of step time
  spent waiting for data, GPU memory);
- several devices through DDP (``devices: N``; the notebook-safe strategy in Jupyter).

Examples
--------
>>> model = ck.get_model("ltae", epochs=10)                              # doctest: +SKIP
>>> model.fit(train, val, checkpoint_dir=run.path / "models/ltae/checkpoints")  # +SKIP
>>> model.history.tail()                                                 # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import xarray as xr

from ..core.errors import ConfigError, DataError
from ..core.taxonomy import TIERS
from ..datasets import to_dataset_classes
from ..datasets.loaders import make_loader
from ..datasets.torchdata import (
    Standardiser,
    StreamSpec,
    TensorStreams,
    loss_weights,
    stream_stats,
    streams_for,
)
from ..models import build_network, network_class
from ..models.hierarchy import joint_decode
from .budget import sized_batches, stopped_by
from .loop import checkpoint_folder, load_best, loop_callbacks, run_trainer
from .module import lightning_module
from .runtime import (
    best_epoch,
    remove_tree,
    val_subset,
)
from .saving import load_classifier, save_classifier
from .settings import TrainerSettings, resolve_device, resolve_precision

__all__ = ["DeepClassifier"]


class DeepClassifier:
    """A registered deep network with its trainer: the same contract as every model.

    Built by :func:`cropkit.experiments.classifiers.get_model` (``ck.get_model``); not
    usually made by hand. Keeps the :class:`~cropkit.models.Classifier` contract.

    Parameters
    ----------
    name : str
        A deep model in :data:`cropkit.models.NETWORKS`.
    model_params : dict
        The ``model:`` section (architecture).
    trainer_params : dict
        The ``trainer:`` section (see :class:`TrainerSettings`).
    inputs : tuple of str
        Streams it reads (``"s2"``, ``"s1"``, ``"enmap"``).
    seed : int
        Seed of the weights, batch order and dropout.
    """

    def __init__(
        self,
        name: str,
        model_params: dict,
        trainer_params: dict,
        inputs: tuple[str, ...] | list[str] | str = ("s2",),
        seed: int = 0,
    ) -> None:
        self.name = name
        self.network_class = network_class(name)
        self.kind = self.network_class.kind
        self.model_params = dict(model_params)
        self.settings = TrainerSettings(**trainer_params)
        self.inputs = tuple([inputs] if isinstance(inputs, str) else inputs)
        self.seed = int(seed)
        self.spec: StreamSpec | None = None
        self.module = None  # the LightningModule (network + standardiser)
        self.info: dict = {}
        self.history = pd.DataFrame()
        self.is_global_zero = True

    def __repr__(self) -> str:
        return f"DeepClassifier({self.name!r}, inputs={self.inputs}, kind={self.kind!r})"

    @property
    def tier(self) -> str:
        """Tier whose predictions the model gives (coarser tiers by roll-up)."""
        return "tier4"

    def identity(self) -> dict:
        """What a checkpoint must match to be resumed by this model."""
        return {
            "model": self.name,
            "model_params": self.model_params,
            "inputs": list(self.inputs),
            "classes": self.spec.classes["tier4"] if self.spec else None,
        }

    def _build(self, train: TensorStreams) -> None:
        self.spec = train.spec
        torch.manual_seed(self.seed)
        network = build_network(self.name, self.spec, **self.model_params)
        standardiser = Standardiser(stream_stats(train))
        weights = {
            tier: loss_weights(
                train.labels(tier).numpy(),
                self.spec.n_classes[tier],
                self.settings.class_weight_power,
            )
            for tier in TIERS
        }
        seen = torch.zeros(self.spec.n_classes["tier4"], dtype=torch.bool)
        y = train.labels("tier4")
        seen[torch.unique(y[y >= 0])] = True
        self._weights, self._standardiser, self._seen = weights, standardiser, seen
        self._network = network

    def fit(
        self,
        train: xr.Dataset,
        val: xr.Dataset | None = None,
        *,
        checkpoint_dir: str | Path | None = None,
        progress: bool = True,
        client=None,
        resume: bool = False,
        callbacks: list | tuple = (),
    ) -> DeepClassifier:
        """Train on ``train``; validate, stop early and keep the best epoch on ``val``.

        Parameters
        ----------
        train, val : xarray.Dataset
            One split side each of a pixel or patch dataset (as :attr:`kind`).
        checkpoint_dir : path-like, optional
            Where ``best.ckpt``, ``last.ckpt`` and ``log/metrics.csv`` go. By default a
            temporary folder, removed once the best weights and the history are loaded.
        progress : bool
            Show the progress bar.
        client : None
            Part of the :class:`~cropkit.models.Classifier` contract: deep models run on
            several GPUs through Lightning's DDP (``devices: N``), not on a Dask cluster,
            so a client is refused.
        resume : bool
            Continue from ``checkpoint_dir/last.ckpt`` when it exists.
        callbacks : list
            More Lightning callbacks.

        Raises
        ------
        DataError
            If the data does not suit the model (wrong kind, a missing stream, fewer
            than two classes).
        TrainingError
            On a NaN loss, running out of GPU memory, or a checkpoint written by
            another model or config.
        """
        streams = self._training_streams(train, client)
        self._build(streams)
        device = resolve_device(self.settings.device)
        precision = resolve_precision(self.settings.precision, device)
        batch_size, samples_per_epoch, sized = sized_batches(
            len(streams), self.settings.batch_size, self.settings.samples_per_epoch
        )
        loader, val_loader = self._loaders(streams, val, batch_size, samples_per_epoch, device)
        folder, fresh, resume_from, earlier = checkpoint_folder(
            checkpoint_dir, resume, self.name, self.identity()
        )
        module = lightning_module(
            self._network,
            self._standardiser,
            self._weights,
            self._seen,
            self.settings,
            len(loader),
            self.seed,
        )
        module.identity = self.identity()
        validated = val_loader is not None
        checkpoint, early, extra = loop_callbacks(self.settings, folder, validated, callbacks)
        devices = self.settings.devices
        if "LOCAL_WORLD_SIZE" in os.environ:  # under torchrun
            devices = int(os.environ["LOCAL_WORLD_SIZE"])
        started = time.perf_counter()
        trainer = run_trainer(
            self.settings,
            module,
            loader,
            val_loader,
            folder,
            dict(device=device, devices=devices, precision=precision, callbacks=extra),
            progress,
            resume_from,
            fresh,
            batch_size,
        )
        seconds = time.perf_counter() - started
        self.is_global_zero = trainer.is_global_zero
        self.module, self.history = load_best(module, checkpoint, folder, earlier)
        self.checkpoint_dir = folder
        if checkpoint_dir is None:  # a temporary folder: the weights and history are in memory
            remove_tree(folder)
            self.checkpoint_dir = None
        planned = int(module.plan["epochs"])
        trained = self.history.dropna(subset=["samples_per_s"]) if len(self.history) else None
        early_stopped = early is not None and early.stopped_epoch > 0
        epochs = int(trainer.current_epoch)
        self.info = {
            "train_samples": len(streams),
            "parameters": self.module.network.n_parameters,
            "epochs": epochs,
            "epochs_planned": planned,
            "stopped_by": stopped_by(epochs, planned, self.settings.epochs, early_stopped),
            "batch_size": batch_size,
            "samples_per_epoch": samples_per_epoch or len(streams),
            **({"sized": sized} if sized else {}),
            "best_epoch": best_epoch(self.history),
            "best_val_f1": float(checkpoint.best_model_score)
            if checkpoint.best_model_score is not None
            else None,
            "fit_seconds": round(seconds, 2),
            "samples_per_s": round(float(trained["samples_per_s"].median()), 1)
            if trained is not None and len(trained)
            else None,
            "device": device,
            "devices": devices,
            "precision": precision,
            "resumed": bool(resume_from),
        }
        return self

    def _training_streams(self, train: xr.Dataset, client) -> TensorStreams:
        """The training side as tensors, or a clear error for data the model cannot use."""
        if client is not None:
            raise ConfigError(
                f"{self.name} trains with Lightning, on several GPUs through DDP "
                "(devices: N in its trainer settings), not on a Dask cluster: drop client=."
            )
        absent = [stream for stream in self.inputs if stream not in train]
        if absent:
            held = [stream for stream in ("s2", "s1", "enmap") if stream in train]
            raise DataError(
                f"{self.name} was asked to read {absent}, but the dataset holds only {held} "
                "(the run's provider offers no such data, or the dataset was built without "
                f"it): train the variant on what is there, get_model({self.name!r}, "
                f"inputs={tuple(s for s in self.inputs if s in held) or ('s2',)}), or build "
                "the dataset with those composites."
            )
        self.network_class.check_spec(StreamSpec.from_dataset(train, self.inputs))
        streams = streams_for(train, self.inputs)
        classes = torch.unique(streams.labels("tier4")[streams.labels("tier4") >= 0])
        if classes.numel() < 2:
            raise DataError(
                f"The training set has {classes.numel()} tier-4 class(es); need two or more."
            )
        return streams

    def _loaders(self, streams, val, batch_size, samples_per_epoch, device):
        """The training loader (class-balanced draws for pixel models) and the validation one."""
        s = self.settings
        loader = make_loader(
            streams,
            batch_size,
            balanced=s.balanced and self.kind == "pixel",
            num_samples=samples_per_epoch or None,
            seed=self.seed,
            pin_memory=device == "cuda",
        )
        if val is None:
            return loader, None
        val = val_subset(val, s.max_val_samples, self.seed)
        if not len(val["tier4"]):
            return loader, None
        val_loader = make_loader(
            streams_for(val, self.inputs),
            batch_size * 2,
            shuffle=False,
            pin_memory=device == "cuda",
        )
        return loader, val_loader

    def _check_trained(self) -> None:
        if self.module is None:
            raise DataError("The model is not trained yet: call fit() or load a saved one.")

    @property
    def supported_inputs(self) -> tuple[str, ...]:
        """The streams the network can read."""
        return tuple(self.network_class.supported_inputs)

    @property
    def hierarchical(self) -> bool:
        """Whether the network has a head per tier (else coarser tiers come by roll-up)."""
        return bool(self.network_class.hierarchical)

    def _configured_batch_size(self) -> int:
        """The config's batch size, or 512 where it is sized from the data (``auto``)."""
        size = self.settings.batch_size
        return size if isinstance(size, int) else 512

    def _forward_batches(self, ds, batch_size, return_attention, device):
        """Yield ``(index, logits, attention)`` per batch of ``ds``.

        Classes absent from training are already out of the softmax (the module's forward).
        """
        self._check_trained()
        streams = streams_for(ds, self.inputs)
        device = resolve_device(device)
        module = self.module.to(device)
        size = batch_size or 2 * self.info.get("batch_size", self._configured_batch_size())
        autocast = torch.autocast("cuda", torch.bfloat16, enabled=device == "cuda")
        with torch.inference_mode(), autocast:
            for index in torch.arange(len(streams)).split(size):
                batch = {k: v.to(device, non_blocking=True) for k, v in streams[index].items()}
                out = module(batch, return_attention=return_attention)
                logits, attention = out if return_attention else (out, None)
                logits = {k: v.float() for k, v in logits.items()}
                if attention is not None:
                    attention = {k: v.float().cpu() for k, v in attention.items()}
                yield index, logits, attention

    def predict_batches(
        self,
        ds: xr.Dataset,
        batch_size: int | None = None,
        return_attention: bool = False,
        device: str = "auto",
    ):
        """Yield ``(index, probabilities, attention)`` per batch of ``ds``.

        ``probabilities`` is ``(B, K4)`` for pixel models and ``(B, K4, H, W)`` for patch
        models, on the CPU; classes unseen in training get 0. ``attention`` is the
        network's attention dict (CPU tensors) when asked, else None.
        """
        for index, logits, attention in self._forward_batches(
            ds, batch_size, return_attention, device
        ):
            yield index, logits["tier4"].softmax(1).cpu(), attention

    def predict_tiers(
        self,
        ds: xr.Dataset,
        batch_size: int | None = None,
        device: str = "auto",
        decoding: str = "joint",
    ) -> dict[str, np.ndarray]:
        """Class index per tier the network answers with a head of its own.

        Hierarchical networks answer every tier; single-head networks tier 4 only (their
        coarser tiers come by roll-up, :mod:`cropkit.experiments.fit`).

        Parameters
        ----------
        ds : xarray.Dataset
            A pixel or patch dataset of the model's kind.
        batch_size : int, optional
            Samples per forward pass (twice the training batch by default).
        device : str
            ``"auto"``, ``"cpu"`` or ``"cuda"``.
        decoding : str
            Hierarchical networks: ``"joint"`` (the best path of the taxonomy,
            :func:`cropkit.models.hierarchy.joint_decode`: the tiers nest by
            construction) or ``"independent"`` (each head's own argmax, which may
            disagree: a diagnostic, see :func:`cropkit.models.hierarchy.tier_agreement`).

        Returns
        -------
        dict
            Tier -> ``(sample,)`` or ``(patch, h, w)`` int64 class indices (the
            ``classes_<tier>`` order of the dataset; see :meth:`predict`).
        """
        if decoding not in ("joint", "independent"):
            raise ConfigError(f"decoding must be 'joint' or 'independent', not {decoding!r}.")
        parts: dict[str, list] = {}
        for _, logits, _ in self._forward_batches(ds, batch_size, False, device):
            if decoding == "joint" and len(logits) > 1:
                proba = {tier: out.float().softmax(1).cpu().numpy() for tier, out in logits.items()}
                answers = joint_decode(proba, self.spec.parents)
            else:
                answers = {tier: out.argmax(1).cpu().numpy() for tier, out in logits.items()}
            for tier, answer in answers.items():
                parts.setdefault(tier, []).append(answer)
        return {
            tier: self._dataset_classes(np.concatenate(p), ds, tier) for tier, p in parts.items()
        }

    def input_mean(self, stream: str = "s2") -> torch.Tensor:
        """The training mean of a stream per channel ``(C,)`` (a neutral input: a baseline)."""
        self._check_trained()
        return self.module.standardiser.mean(stream)

    def predict_tier_proba(
        self, ds: xr.Dataset, batch_size: int | None = None, device: str = "auto"
    ) -> dict[str, np.ndarray]:
        """Probabilities per tier the network answers with a head of its own.

        Returns
        -------
        dict
            Tier -> ``(sample, class)`` or ``(patch, class, h, w)`` float32 over
            ``spec.classes[tier]`` (a tier-4 class unseen in training gets 0).
        """
        parts: dict[str, list] = {}
        for _, logits, _ in self._forward_batches(ds, batch_size, False, device):
            for tier, out in logits.items():
                parts.setdefault(tier, []).append(out.softmax(1).cpu())
        return {tier: torch.cat(p).numpy() for tier, p in parts.items()}

    def predict_proba(self, ds: xr.Dataset, batch_size: int | None = None) -> np.ndarray:
        """Tier-4 class probabilities: ``(sample, class)`` or ``(patch, class, h, w)``.

        Classes in the model's order (``spec.classes["tier4"]``).
        """
        parts = [p for _, p, _ in self.predict_batches(ds, batch_size)]
        return torch.cat(parts).numpy()

    def predict(self, ds: xr.Dataset) -> np.ndarray:
        """Tier-4 class index per sample ``(sample,)``, or per pixel ``(patch, h, w)``.

        Indices of the dataset's class list (``classes_tier4``): re-mapped by name, with
        a warning, when ``ds`` lists other classes than the training set (see
        :func:`cropkit.datasets.to_dataset_classes`).
        """
        return self._dataset_classes(self.predict_proba(ds).argmax(axis=1), ds, "tier4")

    def _dataset_classes(self, predicted: np.ndarray, ds: xr.Dataset, tier: str) -> np.ndarray:
        classes = self.spec.classes[tier]
        seen = None
        if tier == "tier4":  # unseen classes are never predicted
            seen = [classes[i] for i in np.flatnonzero(self.module.seen.cpu().numpy())]
        return to_dataset_classes(predicted, classes, ds, tier, seen, self.name)

    @property
    def taxonomy(self):
        """The taxonomy of the training set (build test sets against it)."""
        return self.spec.to_taxonomy() if self.spec else None

    def save(self, folder: str | Path) -> Path:
        """Write ``model.json`` (settings, classes, training facts) and ``weights.pt``."""
        self._check_trained()
        return save_classifier(self, folder)

    @classmethod
    def load(cls, folder: str | Path) -> DeepClassifier:
        """Read a model written by :meth:`save` (on the CPU)."""
        return load_classifier(cls, folder)
