"""A value that satisfies a JSON Schema, for offline runs (the ``test`` LLM model) and demos.

Covers what agent output schemas use: types (and type lists, preferring null for a nullable field), enums,
const, required properties, nested objects and arrays (minItems), numeric bounds, string lengths, and simple
patterns (tries a few candidates). Not a general generator: an unsatisfiable or exotic schema may get a value
that does not validate, which the output validator then reports as usual.
"""

from __future__ import annotations

import re
from typing import Any

_PATTERN_CANDIDATES = ["AA", "A", "aa", "a", "00000", "0", "x", "example.com", "a@example.com", "2000-01-01", "AAA"]


def _string(schema: dict[str, Any]) -> str:
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    if schema.get("format") == "date":
        return "2000-01-01"
    if schema.get("format") == "email":
        return "a@example.com"
    pattern = schema.get("pattern")
    candidates = _PATTERN_CANDIDATES if pattern else ["example"]
    for candidate in candidates:
        text = candidate.ljust(low, candidate[-1])
        text = text[:high] if high is not None else text
        if not pattern or re.search(pattern, text):
            return text
    return "example"[: high if high is not None else None]


def _number(schema: dict[str, Any], integer: bool) -> int | float:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    value: float = 0
    if low is not None:
        value = low + (1 if "exclusiveMinimum" in schema and "minimum" not in schema else 0)
    elif high is not None and high < 0:
        value = high - 1
    return int(value) if integer else float(value)


def example_for(schema: dict[str, Any]) -> Any:
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if schema.get(combinator):
            return example_for(schema[combinator][0])
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = "null" if "null" in kind else kind[0]
    if kind == "object":
        properties = schema.get("properties") or {}
        return {name: example_for(sub) for name, sub in properties.items()}
    if kind == "array":
        return [example_for(schema.get("items") or {}) for _ in range(schema.get("minItems", 0))]
    if kind in ("integer", "number"):
        return _number(schema, kind == "integer")
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return _string(schema)
