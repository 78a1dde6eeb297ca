"""Lightning's loop around a deep model's fit: checkpoints, callbacks, the run, the best epoch.

:meth:`cropkit.trainer.DeepClassifier.fit` prepares the data and the module; these
functions run Lightning on them: the checkpoint folder (and what a resumed fit starts
from), the callbacks (best and last checkpoints, early stopping, the time budget), the
trainer itself (a failure leaves no folder the fit made behind), and the best epoch's
weights with the whole history afterwards.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from pathlib import Path

import pandas as pd
import torch

from ..core.errors import TrainingError
from .budget import time_budget
from .runtime import NOISE, QUIET, ddp_strategy, quiet_lightning, read_history, remove_tree
from .settings import TrainerSettings

__all__ = ["checkpoint_folder", "loop_callbacks", "run_trainer", "load_best", "check_checkpoint"]


def checkpoint_folder(checkpoint_dir, resume: bool, name: str, identity: dict):
    """The folder of the checkpoints and log, and what a resumed fit starts from.

    Returns ``(folder, fresh, resume_from, earlier)``: whether this fit makes the
    folder, the checkpoint to resume from (or None) and the history before it. A
    checkpoint written by another model or config (``identity`` differs) is refused.
    """
    folder = Path(checkpoint_dir or tempfile.mkdtemp(prefix=f"cropkit-{name}-"))
    fresh = checkpoint_dir is None or not folder.exists()
    last = folder / "last.ckpt"
    resume_from = str(last) if resume and last.exists() else None
    earlier = pd.DataFrame()
    if resume_from:
        check_checkpoint(last, name, identity)
        earlier = read_history(folder / "log" / "metrics.csv")  # the logger starts anew
    elif not resume:  # a fresh run: no checkpoint or log of an older one
        for old in folder.glob("*.ckpt"):
            old.unlink()
        remove_tree(folder / "log")
    return folder, fresh, resume_from, earlier


def check_checkpoint(path: Path, name: str, identity: dict) -> None:
    """Refuse a checkpoint written by another model or with other settings."""
    saved = torch.load(path, map_location="cpu", weights_only=False).get("cropkit", {})
    if saved != identity:
        diff = sorted(k for k in identity if saved.get(k) != identity[k])
        raise TrainingError(
            f"{path} was written by model {saved.get('model')!r} with other settings "
            f"({', '.join(diff)} differ), not by this {name!r}: train without "
            "resume=True, or point checkpoint_dir at that model's own folder."
        )


def loop_callbacks(settings: TrainerSettings, folder: Path, validated: bool, callbacks):
    """Best and last checkpoints, early stopping on validation, the time budget.

    Returns ``(checkpoint, early, every callback)``.
    """
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    monitor = "val_f1" if validated else None
    checkpoint = ModelCheckpoint(
        dirpath=folder,
        filename="best",
        monitor=monitor,
        mode="max",
        save_last=True,
        save_top_k=1,
        enable_version_counter=False,
    )
    extra = [checkpoint, *callbacks]
    early = None
    if monitor:
        early = EarlyStopping(monitor, patience=max(settings.patience, 1), mode="max")
        extra.append(early)
    if settings.max_minutes:  # the schedule ends where the time budget ends
        extra.append(time_budget(settings.max_minutes, settings.epochs))
    return checkpoint, early, extra


def run_trainer(
    settings: TrainerSettings,
    module,
    loader,
    val_loader,
    folder: Path,
    hardware: dict,
    progress: bool,
    resume_from: str | None,
    fresh: bool,
    batch_size: int,
):
    """Run Lightning's loop; a failure leaves no folder this fit made behind.

    ``hardware``: ``device``, ``devices``, ``precision`` and ``callbacks``.
    """
    import lightning as L
    from lightning.pytorch.loggers import CSVLogger

    s = settings
    device, devices = hardware["device"], hardware["devices"]
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(NOISE)
    trainer_args = dict(
        max_epochs=s.epochs,
        accelerator="gpu" if device == "cuda" else "cpu",
        devices=devices,
        strategy=ddp_strategy(devices),
        precision=hardware["precision"],
        gradient_clip_val=s.gradient_clip or None,
        callbacks=hardware["callbacks"],
        logger=CSVLogger(folder, name="log", version=""),
        enable_progress_bar=progress,
        enable_model_summary=False,
        max_time={"minutes": s.max_minutes} if s.max_minutes else None,
        use_distributed_sampler=False,
        num_sanity_val_steps=0,
        log_every_n_steps=max(len(loader) // 4, 1),
        default_root_dir=folder,
    )
    try:  # Lightning's notes ("GPU available", "stopped") only with the progress bar
        with warnings.catch_warnings(), quiet_lightning(not progress):
            for text in QUIET:
                warnings.filterwarnings("ignore", f".*{text}.*")
            trainer = L.Trainer(**trainer_args)
            trainer.fit(module, loader, val_loader, ckpt_path=resume_from)
    except torch.cuda.OutOfMemoryError as err:
        if fresh:
            remove_tree(folder)
        raise TrainingError(
            f"The GPU ran out of memory with batch_size={batch_size}: try "
            f"batch_size={max(batch_size // 2, 1)} (get_model(..., batch_size=...))."
        ) from err
    except TrainingError:
        if fresh:
            remove_tree(folder)
        raise
    return trainer


def load_best(module, checkpoint, folder: Path, earlier: pd.DataFrame):
    """The module with the best epoch's weights, and the whole training history.

    A resumed fit's history is the earlier epochs followed by the new ones (written back
    to ``log/metrics.csv``).
    """
    last = folder / "last.ckpt"
    best = Path(checkpoint.best_model_path) if checkpoint.best_model_path else last
    if best.exists():
        state = torch.load(best, map_location="cpu", weights_only=False)["state_dict"]
        module.load_state_dict(state)
    log_path = folder / "log" / "metrics.csv"
    history = read_history(log_path)
    if len(earlier) and len(history):
        kept = earlier[earlier["epoch"] < history["epoch"].min()]
        history = pd.concat([kept, history], ignore_index=True)
        history.to_csv(log_path, index=False)
    return module.cpu().eval(), history
