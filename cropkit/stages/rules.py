"""Rules for notebook parameters: each checks one value and names what it takes.

A rule is a function ``rule(name, value)`` that returns nothing for a good value and
raises a :class:`~cropkit.core.errors.ConfigError` naming the parameter, the value and
what it takes for a bad one. :mod:`.parameters` declares every notebook's parameters
with them.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..core.errors import ConfigError

__all__ = [
    "Rule",
    "Setting",
    "integer",
    "number",
    "fraction",
    "boolean",
    "text",
    "word",
    "choice",
    "date_or_empty",
    "listing",
    "settings",
    "with_defaults",
]

Rule = Callable[[str, object], None]


def _whole(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _real(value) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def integer(low: int, high: int | None = None, exclude: tuple[int, ...] = ()) -> Rule:
    """A whole number in ``[low, high]`` (no upper bound when ``high`` is None)."""
    span = f"from {low} to {high}" if high is not None else f">= {low}"

    def rule(name, value):
        ok = _whole(value) and value >= low and (high is None or value <= high)
        if not ok or value in exclude:
            but = f" other than {', '.join(map(str, exclude))}" if exclude else ""
            raise ConfigError(f"{name} must be a whole number {span}{but}, not {value!r}.")

    return rule


def number(low: float, high: float | None = None, open_low: bool = False) -> Rule:
    """A finite number in ``[low, high]`` (``(low, high]`` with ``open_low``)."""
    bracket = "(" if open_low else "["
    span = (
        f"in {bracket}{low}, {high}]" if high is not None else f"{'>' if open_low else '>='} {low}"
    )

    def rule(name, value):
        ok = _real(value) and (value > low if open_low else value >= low)
        if not ok or (high is not None and value > high):
            raise ConfigError(f"{name} must be a number {span}, not {value!r}.")

    return rule


def fraction(name, value) -> None:
    """A share in ``[0, 1)``."""
    if not _real(value) or not 0 <= value < 1:
        raise ConfigError(f"{name} must be a share in [0, 1), such as 0.2, not {value!r}.")


def boolean(name, value) -> None:
    """``True`` or ``False``."""
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be True or False, not {value!r}.")


def text(name, value) -> None:
    """Any string (empty allowed)."""
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a string, not {value!r}.")


def word(name, value) -> None:
    """A non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{name} must be a non-empty string, not {value!r}.")


def choice(*allowed: str | Callable[[], tuple]) -> Rule:
    """One of ``allowed`` (or of the tuple a function gives, looked up when checking)."""

    def rule(name, value):
        known = allowed[0]() if len(allowed) == 1 and callable(allowed[0]) else allowed
        if not isinstance(value, str) or value not in known:
            raise ConfigError(f"{name} must be one of {list(known)}, not {value!r}.")

    return rule


def date_or_empty(name, value) -> None:
    """``""`` or a date ``YYYY-MM-DD``."""
    text(name, value)
    if value:
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise ConfigError(
                f"{name} must be a date YYYY-MM-DD (or empty), not {value!r}."
            ) from None


def listing(
    of: Callable[[], tuple] | tuple | None = None,
    empty: bool = False,
    single: bool = False,
    every: str | None = None,
    kind: type | tuple = str,
    what: str = "names",
) -> Rule:
    """A list of ``kind`` values, each among ``of`` (a tuple, or a function giving one).

    ``single`` also takes one value alone; ``every`` names a string meaning all of them.
    """

    def rule(name, value):
        known = of() if callable(of) else of
        if every is not None and value == every:
            return
        values = [value] if single and isinstance(value, kind) else value
        takes = f"a list of {what}" + (f" or {every!r}" if every else "")
        if known is not None:
            takes += f" among {list(known)}"
        if (
            not isinstance(values, (list, tuple))
            or not all(isinstance(v, kind) and not isinstance(v, bool) for v in values)
            or (known is not None and not set(values) <= set(known))
            or (not values and not empty)
            or len(set(values)) != len(values)
        ):
            unknown = []
            if known is not None and isinstance(values, (list, tuple)):
                unknown = [v for v in values if v not in known]
            why = f" ({', '.join(map(repr, unknown))} unknown)" if unknown else ""
            raise ConfigError(f"{name} must be {takes} (each once), not {value!r}{why}.")

    return rule


@dataclass(frozen=True)
class Setting:
    """One key of a grouped parameter: its default, its rule and what it does."""

    default: object
    rule: Rule
    doc: str


def settings(table: dict[str, Setting]) -> Rule:
    """A dict of some of ``table``'s keys (the others keep their defaults), each checked."""

    def rule(name, value):
        if not isinstance(value, Mapping):
            key, setting = next(iter(table.items()))
            raise ConfigError(
                f"{name} must be a dict of the settings it changes, such as "
                f"{{{key!r}: {setting.default!r}}}, not {value!r}; its settings are {list(table)}."
            )
        unknown = sorted(set(value) - set(table))
        if unknown:
            raise ConfigError(
                f"{name} has no setting {', '.join(map(repr, unknown))}; its settings are "
                f"{list(table)}."
            )
        for key, given in value.items():
            table[key].rule(f"{name}[{key!r}]", given)

    return rule


def with_defaults(table: dict[str, Setting], given: Mapping[str, object]) -> dict[str, object]:
    """Every key of ``table``: the value ``given`` sets, else its default.

    Examples
    --------
    >>> table = {"folds": Setting(0, integer(0), "cross-validation folds")}
    >>> with_defaults(table, {"folds": 4})["folds"], with_defaults(table, {})["folds"]
    (4, 0)
    """
    return {key: given.get(key, setting.default) for key, setting in table.items()}
