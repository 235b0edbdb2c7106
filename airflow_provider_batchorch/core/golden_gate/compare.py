"""When an agent's answer for a field matches the label of a golden sample (a CSV cell, so always text).

- An empty label is no label: the field is not scored on that row. ``null`` (any case) expects no value.
- Numbers: when the label and the answer both read as numbers, they match within the tolerance:
  ``|answer - label| <= max(absolute, relative * |label|)`` (default: relative 1 %, absolute 0).
- Booleans: ``true/yes/1`` and ``false/no/0`` (any case) match the answer's boolean.
- Lists and objects: the label is read as JSON and compared as values (key order does not matter).
- Text, and everything else: equal after normalisation -- Unicode NFKC, case folded, whitespace trimmed and
  runs of it collapsed to one space. ``"  Acme   Corp"`` matches ``"acme corp"``; ``"Acme Corp."`` does not.
"""

from __future__ import annotations

import json
import math
import unicodedata
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from airflow_provider_batchorch.core.csv.output import format_cell

_TRUE, _FALSE = {"true", "yes", "1"}, {"false", "no", "0"}


class Tolerance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    relative: float = Field(0.01, ge=0, description="Numbers match within this fraction of the label")
    absolute: float = Field(0.0, ge=0, description="... or within this much, whichever is larger")


def normalize_text(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    try:
        number = float(str(value).strip().replace(",", ""))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def values_match(label: str, answer: Any, tolerance: Tolerance | None = None) -> bool:
    """Whether ``answer`` (the agent's value) matches ``label`` (the golden CSV cell); see the module."""
    tolerance = tolerance or Tolerance()
    text = label.strip()
    if text.casefold() == "null":
        return answer is None or answer == ""
    if answer is None:
        return False
    if isinstance(answer, bool):
        folded = text.casefold()
        return (answer and folded in _TRUE) or (not answer and folded in _FALSE)
    if isinstance(answer, (dict, list)):
        try:
            return json.loads(text) == answer
        except ValueError:
            return False
    expected, actual = _number(text), _number(answer)
    if expected is not None and actual is not None:
        return abs(actual - expected) <= max(tolerance.absolute, tolerance.relative * abs(expected))
    return normalize_text(text) == normalize_text(format_cell(answer))
