"""The LightningModule around a cropkit network: loss per tier, metrics, schedule, logs."""

from __future__ import annotations

import math
import time
from dataclasses import asdict

import lightning as L
import torch
import torch.nn.functional as F
from torchmetrics.classification import MulticlassF1Score

from ..core.errors import TrainingError
from ..datasets.torchdata import IGNORE_INDEX
from .settings import TrainerSettings

__all__ = ["CropLightningModule", "lightning_module", "masked_loss"]


def masked_loss(logits, target, weight) -> torch.Tensor:
    """Weighted cross-entropy over the labelled targets (0 when none is labelled)."""
    total = F.cross_entropy(
        logits.float(), target, weight=weight, ignore_index=IGNORE_INDEX, reduction="sum"
    )
    labelled = target[target != IGNORE_INDEX]
    return total / weight[labelled].sum().clamp(min=1e-8)


class CropLightningModule(L.LightningModule):
    """A cropkit network trained on the four tiers of the taxonomy.

    Weighted loss per tier, validation macro F1, AdamW with a warm-up and a cosine
    schedule over the planned epochs, and the step timings (samples/s, the share of time
    waiting for data) in the log.

    Parameters
    ----------
    network : torch.nn.Module
        A registered network (:func:`cropkit.models.network_class`): ``forward(batch,
        return_attention=False)`` gives logits per tier, ``(sample, class[, h, w])``.
    standardiser : torch.nn.Module
        Scales each stream of a batch (:class:`cropkit.datasets.torchdata.Standardiser`).
    weights : dict
        Tier -> class loss weights ``(class,)``; a weight of 0 marks a class absent from
        training (left out of the softmax).
    seen : torch.Tensor
        ``(class,)`` bool: tier-4 classes with training samples (validation F1 over these).
    settings : TrainerSettings
        The config's ``trainer:`` section.
    steps_per_epoch : int
        Batches per epoch (the schedule's unit).
    seed : int
        Seeds the dropout of each batch (a resumed fit repeats an uninterrupted one).
    """

    def __init__(
        self,
        network: torch.nn.Module,
        standardiser: torch.nn.Module,
        weights: dict[str, torch.Tensor],
        seen: torch.Tensor,
        settings: TrainerSettings,
        steps_per_epoch: int,
        seed: int,
    ) -> None:
        super().__init__()
        # plain values only, so a checkpoint loads with torch.load(weights_only=True)
        self.save_hyperparameters(
            {"settings": asdict(settings), "steps_per_epoch": steps_per_epoch, "seed": seed}
        )
        self.settings, self.steps_per_epoch, self.seed = settings, steps_per_epoch, seed
        self.network = network
        # compiled forward, kept out of the module tree so checkpoints and saved
        # weights keep the plain network's names
        self.__dict__["_run"] = torch.compile(network) if settings.compile else network
        self.standardiser = standardiser
        for tier, weight in weights.items():
            self.register_buffer(f"weight_{tier}", weight)
        self.register_buffer("seen", seen)
        self.val_f1 = MulticlassF1Score(len(seen), average="macro", ignore_index=IGNORE_INDEX)
        self.identity: dict = {}
        # epochs the schedule is laid over: the config's, or fewer to fit max_minutes
        # (cropkit.trainer.budget.time_budget plans it); kept in checkpoints
        self.plan: dict = {"epochs": settings.epochs}
        self._clock = self._wait = self._step_start = 0.0
        self._samples = 0

    def forward(self, batch, return_attention=False):
        """Logits per tier (and the attention dict), classes absent from training masked."""
        run = self._run if self.training else self.network
        out = run(self.standardiser(batch), return_attention=return_attention)
        logits, attention = out if return_attention else (out, None)
        logits = {tier: self._only_trained(tier, v) for tier, v in logits.items()}
        return (logits, attention) if return_attention else logits

    def _only_trained(self, tier, logits):
        """Classes without a training sample (loss weight 0) out of the softmax.

        Datasets number every class of their taxonomy; those the training set lacks
        can be neither learnt nor predicted, and left in they slow the others down.
        A large negative logit (not -inf) keeps the KL of the hierarchical heads finite.
        """
        absent = getattr(self, f"weight_{tier}") == 0
        shape = (1, -1, *[1] * (logits.ndim - 2))
        return logits.masked_fill(absent.view(shape), -1e4)

    def _loss(self, logits, batch):
        loss = sum(
            masked_loss(out, batch[tier], getattr(self, f"weight_{tier}"))
            for tier, out in logits.items()
        )
        extra = getattr(self.network, "auxiliary_loss", lambda _: None)(logits)
        return loss if extra is None else loss + extra

    def _log_epoch_loss(self, name: str, loss: torch.Tensor, batch: dict) -> None:
        """Log ``loss`` as the epoch's mean over samples (across processes under DDP)."""
        batch_size = len(batch["tier4"])
        self.log(name, loss, on_step=False, on_epoch=True, batch_size=batch_size, sync_dist=True)

    def on_train_epoch_start(self) -> None:
        """Start the epoch's clocks."""
        self._clock, self._wait, self._samples = time.perf_counter(), 0.0, 0
        self._step_start = self._clock

    def on_train_batch_start(self, batch, batch_idx) -> None:
        """Seed the batch's dropout; count the time spent waiting for it."""
        # the dropout of batch b of epoch e depends on the seed, e and b only: a resumed
        # fit repeats an uninterrupted one whatever else drew random numbers meanwhile
        torch.manual_seed((self.seed * 7919 + self.current_epoch) * 100_003 + batch_idx)
        now = time.perf_counter()
        self._wait += now - self._step_start  # time since the last step ended

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
        """Mark the end of the step (the wait for the next batch starts)."""
        self._step_start = time.perf_counter()

    def training_step(self, batch, batch_idx):
        """The summed loss of the tiers; a non-finite loss stops with the likely cause."""
        logits = self(batch)
        loss = self._loss(logits, batch)
        if not torch.isfinite(loss):
            lr = self.optimizers().param_groups[0]["lr"]
            raw = {
                k: int((~torch.isfinite(v)).sum())
                for k, v in batch.items()
                if v.is_floating_point()
            }
            raise TrainingError(
                f"The loss became {loss.item()} at epoch {self.current_epoch}, batch "
                f"{batch_idx}. Likely cause: a learning rate too high ({lr:.2g}; try "
                f"{lr / 10:.2g}), or inputs out of range (non-finite values per stream "
                f"before scaling: {raw}). Training stopped."
            )
        self._samples += len(batch["tier4"])
        self._log_epoch_loss("train_loss", loss, batch)
        return loss

    def on_train_epoch_end(self) -> None:
        """Log samples/s, the data-wait share, the learning rate (and GPU memory)."""
        seconds = max(time.perf_counter() - self._clock, 1e-9)
        self.log("samples_per_s", self._samples / seconds, sync_dist=True)
        self.log("data_wait_share", self._wait / seconds, sync_dist=True)
        self.log("lr", self.optimizers().param_groups[0]["lr"])
        if torch.cuda.is_available():
            self.log("gpu_mem_gb", torch.cuda.max_memory_allocated() / 1e9)

    def validation_step(self, batch, batch_idx):
        """Validation loss and tier-4 macro F1 over the classes seen in training."""
        logits = self(batch)
        loss = self._loss(logits, batch)
        # classes absent from training are out of the softmax already (forward)
        self.val_f1.update(logits["tier4"].argmax(1).flatten(), batch["tier4"].flatten())
        self._log_epoch_loss("val_loss", loss, batch)
        self.log("val_f1", self.val_f1, on_step=False, on_epoch=True)

    def configure_optimizers(self):
        """AdamW, linear warm-up, then a cosine over the planned epochs (per step)."""
        settings, steps_per_epoch = self.settings, self.steps_per_epoch
        optimizer = torch.optim.AdamW(
            self.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
        )
        warmup = int(settings.warmup_epochs * steps_per_epoch)

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            total = max(self.plan["epochs"] * steps_per_epoch, 1)  # read at every step
            progress = (step - warmup) / max(total - warmup, 1)
            return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    def on_save_checkpoint(self, checkpoint) -> None:
        """Keep the model's identity and the epoch plan in the checkpoint."""
        checkpoint["cropkit"] = self.identity
        checkpoint["cropkit_plan"] = dict(self.plan)

    def on_load_checkpoint(self, checkpoint) -> None:
        """Restore the epoch plan of a resumed fit."""
        self.plan.update(checkpoint.get("cropkit_plan", {}))


def lightning_module(network, standardiser, weights, seen, settings, steps_per_epoch, seed):
    """A :class:`CropLightningModule` (the estimator's one way to build it)."""
    return CropLightningModule(
        network, standardiser, weights, seen, settings, steps_per_epoch, seed
    )
