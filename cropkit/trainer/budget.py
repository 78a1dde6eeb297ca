"""Training budgets: a schedule that ends where the time budget ends, sizes from the data.

A deep model trains for at most ``epochs`` and, when ``max_minutes`` is set, at most
that long. The learning-rate schedule (linear warm-up, cosine decay) is laid out over
the epochs that will actually run: :func:`time_budget` times the first epoch, plans the
epochs the budget allows and shortens the schedule to them (and again, never longer,
if later epochs run slower), so a fit capped by time still ends with a low learning
rate. The plan is recorded (``info["epochs_planned"]``): training again with
``epochs=<that>`` and no time cap repeats the fit whatever the machine's load.

:func:`sized_batches` picks the batch size and the draws per epoch of pixel models from
the number of training samples when the config says ``auto``.
"""

from __future__ import annotations

import math
import time

from lightning.pytorch.callbacks import Callback

__all__ = [
    "TimeBudget",
    "time_budget",
    "sized_batches",
    "stopped_by",
    "STOP_REASONS",
]

#: What can end a fit, as :func:`stopped_by` names it.
STOP_REASONS = {
    "epochs": "the configured number of epochs ran",
    "time_budget": "the epochs planned to fit max_minutes ran (schedule fitted to the budget)",
    "early_stopping": "validation macro F1 stopped improving (patience)",
    "time_cap": "max_minutes ran out before the planned epochs (the machine slowed down)",
}


def sized_batches(n_train: int, batch_size, samples_per_epoch) -> tuple[int, int, dict]:
    """Batch size and draws per epoch for ``n_train`` training samples.

    ``"auto"`` values are sized from the data: batches of about a fiftieth of the
    training set (a power of two from 32 to 512), and epochs of ten draws per training
    sample, at least 64 batches and at most 100,000 draws (large sets keep 100,000 draws
    of 512). Numbers are kept as given (``0`` draws: the training set once).

    Returns
    -------
    batch_size, samples_per_epoch : int
    info : dict
        What was sized and from what (empty when nothing was ``auto``).
    """
    info = {}
    if batch_size == "auto":
        batch_size = int(min(512, max(32, 2 ** round(math.log2(max(n_train, 1) / 50)))))
        info["batch_size"] = batch_size
    if samples_per_epoch == "auto":
        samples_per_epoch = int(min(100_000, max(10 * n_train, 64 * batch_size)))
        info["samples_per_epoch"] = samples_per_epoch
    if info:
        info["sized_from_samples"] = int(n_train)
    return int(batch_size), int(samples_per_epoch), info


class TimeBudget(Callback):
    """Plans the epochs ``minutes`` allow and ends the learning-rate schedule there.

    After the first epoch it plans ``min(epochs, the epochs the remaining time allows)``;
    after each later one it shortens the plan (never lengthens it) if the epochs run
    slower than planned. The LightningModule holds the plan (``module.plan["epochs"]``),
    which its scheduler reads at every step and its checkpoints keep, so a resumed fit
    follows the same plan.

    Parameters
    ----------
    minutes : float
        The time budget of the fit (``max_minutes``).
    epochs : int
        The most epochs (the config's ``epochs``).
    """

    def __init__(self, minutes: float, epochs: int) -> None:
        self.seconds = float(minutes) * 60
        self.epochs = int(epochs)
        self._started = 0.0
        self._first_epoch = 0

    def on_train_start(self, trainer, pl_module) -> None:
        """Start the clock; a resumed fit takes its checkpoint's plan."""
        self._started = time.perf_counter()
        self._first_epoch = trainer.current_epoch
        if pl_module.plan.get("fitted"):
            trainer.fit_loop.max_epochs = pl_module.plan["epochs"]

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        """Plan the epochs the remaining time allows (the plan never grows)."""
        done = trainer.current_epoch + 1  # epochs finished, this one included
        elapsed = time.perf_counter() - self._started
        per_epoch = elapsed / max(done - self._first_epoch, 1)
        affordable = done + int(max(self.seconds - elapsed, 0) // per_epoch)
        plan = pl_module.plan
        planned = min(self.epochs, plan["epochs"], max(done, affordable))
        if plan.get("fitted") and planned >= plan["epochs"]:
            return  # on schedule
        replanned = plan.get("replanned", -1) + 1
        plan.update(epochs=int(planned), fitted=True, replanned=replanned)
        trainer.fit_loop.max_epochs = int(planned)


def time_budget(minutes: float, epochs: int) -> TimeBudget:
    """The :class:`TimeBudget` callback of a fit of at most ``epochs`` and ``minutes``."""
    return TimeBudget(minutes, epochs)


def stopped_by(epochs_run: int, planned: int, configured: int, early_stopped: bool) -> str:
    """Which limit ended a fit (a key of :data:`STOP_REASONS`)."""
    if early_stopped:
        return "early_stopping"
    if epochs_run < planned:
        return "time_cap"
    return "epochs" if planned >= configured else "time_budget"
