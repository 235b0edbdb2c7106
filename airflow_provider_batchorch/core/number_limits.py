"""The allowed range of a numeric setting, read from a pydantic model's ``Field`` constraints, and the words that
name it. ``BatchRequest`` is the one place where the ranges of concurrency, timeout and chunk rows are written; its
own validation (DAG run conf, CLI flags) and the chat policy word their refusals from here:

    number_range(BatchRequest, "concurrency").describe()          # 'a whole number from 1 to 1,000'
    number_range(BatchRequest, "concurrency").capped(50, "the configured maximum").describe()
                                                                  # 'a whole number from 1 to 50 (the configured maximum)'

A value is checked, never coerced: a bool, a fraction where a whole number is asked, NaN or a value outside the
range is refused (``accepts``), so ``-5`` does not become 5 and ``0`` does not become the default.
"""

from __future__ import annotations

import math
import types
import typing
from dataclasses import dataclass, replace
from typing import Any, Callable

import annotated_types
from pydantic import BaseModel, ValidationError


@dataclass(frozen=True)
class NumberRange:
    whole: bool
    low: float | None = None
    low_inclusive: bool = True
    high: float | None = None
    high_inclusive: bool = True
    unit: str = ""
    high_note: str = ""

    def capped(self, high: float, note: str) -> "NumberRange":
        """The range with a tighter maximum (a deployment's policy), said with ``note``; a looser one changes nothing."""
        if self.high is not None and high >= self.high:
            return self
        return replace(self, high=high, high_inclusive=True, high_note=note)

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            return False
        if self.whole and not float(value).is_integer():
            return False
        if self.low is not None and (value < self.low if self.low_inclusive else value <= self.low):
            return False
        return self.high is None or (value <= self.high if self.high_inclusive else value < self.high)

    def describe(self) -> str:
        text = ("a whole number" if self.whole else "a number") + (f" of {self.unit}" if self.unit else "")
        if self.low is not None:
            text += f" {'from' if self.low_inclusive else 'above'} {show_number(self.low)}"
        if self.high is not None:
            joint = "to" if self.low is not None and self.low_inclusive and self.high_inclusive else (
                "and at most" if self.high_inclusive else "and below")
            text += f" {joint if self.low is not None else joint.removeprefix('and ')} {show_number(self.high)}"
        return text + (f" ({self.high_note})" if self.high_note else "")


def show_number(value: float) -> str:
    """``1,000`` for a whole value, ``0.5`` otherwise; ``-5`` keeps its sign."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:g}"
    return f"{int(value):,}"


def number_range(model: type[BaseModel], name: str) -> NumberRange:
    """The range the model's field ``name`` allows: its type (whole or not) and its ``ge/gt/le/lt`` constraints."""
    info = model.model_fields[name]
    kinds = set(typing.get_args(info.annotation)) if isinstance(info.annotation, types.UnionType) else {info.annotation}
    found = NumberRange(whole=int in kinds and float not in kinds, unit="seconds" if name.endswith("_seconds") else "")
    for constraint in info.metadata:
        if isinstance(constraint, annotated_types.Ge):
            found = replace(found, low=constraint.ge, low_inclusive=True)
        elif isinstance(constraint, annotated_types.Gt):
            found = replace(found, low=constraint.gt, low_inclusive=False)
        elif isinstance(constraint, annotated_types.Le):
            found = replace(found, high=constraint.le, high_inclusive=True)
        elif isinstance(constraint, annotated_types.Lt):
            found = replace(found, high=constraint.lt, high_inclusive=False)
    return found


def checked_number(model: type[BaseModel], name: str, value: Any, handler: Callable[[Any], Any]) -> Any:
    """A pydantic wrap validator's body: the field's own validation (lax: ``"5"`` and ``5.0`` are 5), but a bool is
    no number, and any refusal names the range: ``must be a whole number from 1 to 1,000``."""
    if isinstance(value, bool):
        raise ValueError(f"must be {number_range(model, name).describe()}, not a boolean")
    try:
        return handler(value)
    except ValidationError:
        raise ValueError(f"must be {number_range(model, name).describe()}") from None
