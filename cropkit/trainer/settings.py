"""The ``trainer:`` section of a deep model's config, validated, and device choices."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError
from ..models.base import resolve_device

__all__ = ["TrainerSettings", "resolve_device", "resolve_precision", "PRECISIONS"]

PRECISIONS = ("auto", "32", "32-true", "bf16-mixed", "16-mixed", "bf16-true")


def resolve_precision(precision: str, device: str) -> str:
    """``"auto"``: ``"bf16-mixed"`` on a GPU, ``"32-true"`` on a CPU."""
    if precision == "auto":
        return "bf16-mixed" if device == "cuda" else "32-true"
    return "32-true" if precision == "32" else precision


@dataclass
class TrainerSettings:
    """The ``trainer:`` section of a deep model's config (see ``configs/ltae.yaml``)."""

    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    warmup_epochs: float
    gradient_clip: float
    precision: str
    compile: bool
    patience: int
    samples_per_epoch: int
    balanced: bool
    class_weight_power: float
    max_val_samples: int
    device: str
    devices: int
    max_minutes: float

    def __post_init__(self) -> None:
        def positive(name, kind=int):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"{name} must be a positive number, not {value!r}.")
            if kind is int and value != int(value):
                raise ConfigError(f"{name} must be a whole number, not {value!r}.")
            setattr(self, name, kind(value))

        def non_negative(name, kind=float):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"{name} must be zero or more, not {value!r}.")
            setattr(self, name, kind(value))

        for name in ("epochs", "batch_size", "devices"):
            positive(name)
        positive("learning_rate", float)
        for name in ("weight_decay", "warmup_epochs", "gradient_clip", "max_minutes"):
            non_negative(name)
        for name in ("class_weight_power",):
            non_negative(name)
        for name in ("patience", "samples_per_epoch", "max_val_samples"):
            non_negative(name, int)
        self.precision = str(self.precision)
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {PRECISIONS}, not {self.precision!r}.")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"device must be 'auto', 'cpu' or 'cuda', not {self.device!r}.")
        self.compile, self.balanced = bool(self.compile), bool(self.balanced)
