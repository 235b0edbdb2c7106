"""The data type of a column, inferred from a sample of its values."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Callable, Iterable

from airflow_provider_batchorch.core.models import DataType

_INTEGER = re.compile(r"[+-]?(0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[+-]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?[0-9]+[eE][+-]?[0-9]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_BOOLEANS = {"true", "false", "yes", "no"}


def infer_data_types(columns: list[str], rows: list[dict[str, str]]) -> dict[str, DataType]:
    return {name: infer_data_type(row[name] for row in rows) for name in columns}


def infer_data_type(values: Iterable[str]) -> DataType:
    """The narrowest type every non-empty value fits; integers with leading zeros (IDs, ZIP codes) are strings."""
    kinds = {_value_kind(value.strip()) for value in values if value.strip()}
    if not kinds:
        return "empty"
    if len(kinds) == 1:
        return kinds.pop()
    if kinds == {"integer", "float"}:
        return "float"
    if kinds == {"date", "datetime"}:
        return "datetime"
    return "string"


def _value_kind(value: str) -> DataType:
    if value.lower() in _BOOLEANS:
        return "boolean"
    if _INTEGER.fullmatch(value):
        return "integer"
    if _FLOAT.fullmatch(value):
        return "float"
    if _DATE.fullmatch(value) and _parses(date.fromisoformat, value):
        return "date"
    if _DATETIME.fullmatch(value) and _parses(datetime.fromisoformat, value):
        return "datetime"
    return "string"


def _parses(parse: Callable[[str], object], value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True
