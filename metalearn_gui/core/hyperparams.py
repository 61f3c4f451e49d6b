"""Hyper-parameter specs: one declaration drives GUI sliders and CLI validation."""

from __future__ import annotations

import math
import numbers
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

Value = float | int | str


class Change(NamedTuple):
    """A hyper-parameter changed on a running learner: at ``step``, ``name`` went from ``old`` to ``new``."""

    step: int
    name: str
    old: Value
    new: Value

_brief_repr = reprlib.Repr()
_brief_repr.maxstring = _brief_repr.maxlong = _brief_repr.maxother = 40
_brief_repr.maxlevel, _brief_repr.maxlist, _brief_repr.maxdict = 2, 4, 4


def brief(value: Any) -> str:
    """``repr(value)`` cut to a few dozen characters: a message quoting a hand-edited value
    (a 10 MB string, a nested list, a 400-digit number) stays one readable line."""
    return _brief_repr.repr(value)


class HyperParamError(ValueError):
    """A hyper-parameter value the user gave is not allowed; the message says why."""


@dataclass(frozen=True)
class HyperParam:
    """One tunable hyper-parameter of a learner.

    ``low``/``high`` bound numeric values (inclusive); ``choices`` makes it a
    selection instead. ``live`` ones may change between chunks of a running
    learner; the others apply at the next reset.
    """

    name: str
    label: str
    default: Value
    help: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    live: bool = True
    choices: tuple[str, ...] | None = None
    #: A word the lowest value stands for (e.g. "auto"): shown instead of it, accepted for it.
    low_means: str | None = None

    def describe_range(self) -> str:
        if self.choices is not None:
            return " | ".join(self.choices)
        kind = "integer " if self.integer else ""
        scale = ", log scale" if self.log else ""
        low = f"{_fmt(self.low)} ({self.low_means})" if self.low_means else _fmt(self.low)
        return f"{kind}{low} … {_fmt(self.high)}{scale}"

    def parse(self, text: str) -> Value:
        """Turn command-line text into a checked value."""
        if self.choices is not None:
            return self.validate(text.strip())
        if self.low_means is not None and self.low is not None and text.strip() == self.low_means:
            return self.validate(self.low)
        try:
            number = float(text)
        except ValueError:
            raise HyperParamError(
                f"{self.name}={text!r} is not a number; allowed: {self.describe_range()}"
            ) from None
        return self.validate(number)

    def validate(self, value: Value) -> Value:
        """Return ``value`` converted to the spec's type, or raise :class:`HyperParamError`."""
        if self.choices is not None:
            if value not in self.choices:
                raise HyperParamError(
                    f"{self.name}={brief(value)} is not one of: {self.describe_range()}"
                )
            return value
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise HyperParamError(
                f"{self.name}={brief(value)} is not a number; allowed: {self.describe_range()}"
            )
        try:
            number = float(value)
        except OverflowError:  # an integer beyond float's range (JSON allows 10**400)
            raise HyperParamError(
                f"{self.name}={brief(value)} is out of range; allowed: {self.describe_range()}"
            ) from None
        if not math.isfinite(number):
            raise HyperParamError(
                f"{self.name}={brief(value)} is not a finite number; allowed: {self.describe_range()}"
            )
        if self.integer and number != int(number):
            raise HyperParamError(
                f"{self.name}={brief(value)} is not an integer; allowed: {self.describe_range()}"
            )
        if (self.low is not None and number < self.low) or (
            self.high is not None and number > self.high
        ):
            raise HyperParamError(
                f"{self.name}={_fmt(number)} is out of range; allowed: {self.describe_range()}"
            )
        return int(number) if self.integer else number


def resolve(
    specs: tuple[HyperParam, ...],
    *layers: Mapping[str, Value] | None,
) -> dict[str, Value]:
    """Spec defaults overridden by each layer in turn, every value validated.

    Unknown names raise :class:`HyperParamError` listing the known ones.
    """
    by_name = {spec.name: spec for spec in specs}
    values: dict[str, Value] = {spec.name: spec.default for spec in specs}
    for layer in layers:
        for name, value in (layer or {}).items():
            if name not in by_name:
                raise HyperParamError(
                    f"unknown hyper-parameter {brief(name)}; known: {', '.join(by_name)}"
                )
            values[name] = by_name[name].validate(value)
    return values


def _fmt(number: float | None) -> str:
    if number is None:
        return "∞"
    return f"{number:g}"
