"""The ``trainer:`` section of a deep model's config, validated, and device choices."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.errors import ConfigError
from ..models.base import checked_number, resolve_device

__all__ = ["TrainerSettings", "resolve_device", "resolve_precision", "PRECISIONS"]

PRECISIONS = ("auto", "32", "32-true", "bf16-mixed", "16-mixed", "bf16-true")


def resolve_precision(precision: str, device: str) -> str:
    """``"auto"``: ``"bf16-mixed"`` on a GPU, ``"32-true"`` on a CPU."""
    if precision == "auto":
        return "bf16-mixed" if device == "cuda" else "32-true"
    return "32-true" if precision == "32" else precision


#: Numeric settings: name, type, and 1 for "positive" or 0 for "zero or more".
_NUMBERS = (
    ("epochs", int, 1),
    ("batch_size", int, 1),
    ("devices", int, 1),
    ("learning_rate", float, 1),
    ("weight_decay", float, 0),
    ("warmup_epochs", float, 0),
    ("gradient_clip", float, 0),
    ("max_minutes", float, 0),
    ("class_weight_power", float, 0),
    ("patience", int, 0),
    ("samples_per_epoch", int, 0),
    ("max_val_samples", int, 0),
)


#: Settings that may be ``"auto"``: sized from the training set when the fit starts
#: (:func:`cropkit.trainer.budget.sized_batches`).
SIZED = ("batch_size", "samples_per_epoch")


@dataclass
class TrainerSettings:
    """The ``trainer:`` section of a deep model's config (see ``configs/ltae.yaml``).

    ``batch_size`` and ``samples_per_epoch`` take ``"auto"``: sized from the number of
    training samples (:func:`cropkit.trainer.budget.sized_batches`).
    """

    epochs: int
    batch_size: int | str
    learning_rate: float
    weight_decay: float
    warmup_epochs: float
    gradient_clip: float
    precision: str
    compile: bool
    patience: int
    samples_per_epoch: int | str
    balanced: bool
    class_weight_power: float
    max_val_samples: int
    device: str
    devices: int
    max_minutes: float

    def __post_init__(self) -> None:
        for name, kind, least in _NUMBERS:
            value = getattr(self, name)
            if name in SIZED and value == "auto":  # sized from the data at fit time
                continue
            try:
                setattr(self, name, checked_number(name, value, kind, least))
            except ConfigError as err:
                if name not in SIZED:
                    raise
                raise ConfigError(str(err).replace(", not", ' or "auto", not', 1)) from None
        self.precision = str(self.precision)
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {PRECISIONS}, not {self.precision!r}.")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"device must be 'auto', 'cpu' or 'cuda', not {self.device!r}.")
        self.compile, self.balanced = bool(self.compile), bool(self.balanced)
