"""Checks one agent output against the agent's JSON Schema and turns every problem into a row error.

``OutputValidator(schema)`` compiles the schema once (its ``$schema`` dialect, Draft 2020-12 when absent);
``validate(output)`` accepts a dict (or a pydantic model), or the raw text / bytes of a JSON object, and
returns the dict or raises ``InvalidAgentOutput`` (not a JSON object) or ``SchemaViolation``.

Formats are checked (``uri``, ``hostname``, ``email``, ``date``, ``date-time``, ``ipv4``, ``ipv6``, ``uuid``, ...)
with jsonschema's format checker of the dialect, one per dialect for the whole process. jsonschema skips a format
whose optional package is missing (``rfc3986-validator`` for uri, ``fqdn`` for hostname, ``rfc3339-validator``
for date-time): a schema that uses such a format is refused instead of passing every value.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError, best_match, relevance
from jsonschema.validators import validator_for

from airflow_provider_batchorch.core.errors import AgentRowError, RegistryError

_MAX_MESSAGE = 200
# Formats an output schema may rely on, and the package jsonschema needs to check the ones not in its core.
CHECKED_FORMATS = {"uri": "rfc3986-validator", "hostname": "fqdn", "email": "", "date": "", "date-time":
                   "rfc3339-validator", "ipv4": "", "ipv6": "", "uuid": ""}
_FENCE = re.compile(r"^```(?:json)?\s*\n?(.*?)\n?```$", re.DOTALL | re.IGNORECASE)


class InvalidAgentOutput(AgentRowError):
    """The agent did not return a JSON object: not JSON, cut off, or another JSON type."""

    code = "INVALID_JSON"


class SchemaViolation(AgentRowError):
    """The agent returned a JSON object that breaks its output schema. ``errors`` lists every problem,
    the most relevant first; ``reason`` is the first one."""

    code = "SCHEMA_VIOLATION"

    def __init__(self, reason: str, *, errors: list[str]) -> None:
        others = errors[1:]
        detail = f"{len(others)} more: " + "; ".join(others) if others else ""
        super().__init__(reason, detail=detail)
        self.errors = errors


def json_path(error: ValidationError) -> str:
    """``employee_count``, ``key_features[2]``, ``address.city``; ``(root)`` for the object itself."""
    text = ""
    for part in error.absolute_path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(root)"


def _describe(error: ValidationError) -> str:
    message = error.message
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 3] + "..."
    return f"Schema violation at '{json_path(error)}': {message}"


def parse_output(output: Any) -> dict[str, Any]:
    """The agent output as a dict; raises ``InvalidAgentOutput`` when it is not one JSON object."""
    if hasattr(output, "model_dump") and callable(output.model_dump):
        output = output.model_dump(mode="json")
    if isinstance(output, dict):
        return output
    if isinstance(output, (bytes, bytearray)):
        try:
            output = bytes(output).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidAgentOutput("Invalid JSON output: not UTF-8 text") from None
    if not isinstance(output, str):
        raise InvalidAgentOutput("Agent output is not a JSON object", detail=f"got {type(output).__name__}")
    body = output.strip()
    fenced = _FENCE.match(body)
    if fenced:  # LLMs often wrap JSON in a Markdown code fence
        body = fenced.group(1).strip()
    if not body:
        raise InvalidAgentOutput("Empty agent output")
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(body) or exc.msg.startswith("Unterminated"):
            raise InvalidAgentOutput("Truncated JSON output", detail=f"{exc.msg} at char {exc.pos}") from None
        where = f"line {exc.lineno} column {exc.colno}"
        raise InvalidAgentOutput("Invalid JSON output", detail=f"{exc.msg} at {where}") from None
    if not isinstance(value, dict):
        kind = {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")
        raise InvalidAgentOutput(f"Agent output is a JSON {kind}, expected a JSON object")
    return value


@lru_cache(maxsize=None)
def format_checker(validator_class: type) -> FormatChecker:
    """The dialect's format checker, built once per process and shared by every agent's validator."""
    return validator_class.FORMAT_CHECKER


def _formats_in(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        found = {schema["format"]} if isinstance(schema.get("format"), str) else set()
        return found.union(*(_formats_in(value) for key, value in schema.items() if key not in ("const", "enum",
                                                                                                 "default", "examples")))
    if isinstance(schema, list):
        return set().union(*(_formats_in(item) for item in schema))
    return set()


def _refuse_unchecked_formats(schema: dict[str, Any], checker: FormatChecker) -> None:
    unchecked = sorted(name for name in _formats_in(schema) & set(CHECKED_FORMATS) if name not in checker.checkers)
    if unchecked:
        packages = ", ".join(sorted({CHECKED_FORMATS[name] for name in unchecked}))
        raise RegistryError(f"output_schema uses format {', '.join(unchecked)}, which cannot be checked here",
                            hint=f"Install {packages} (a dependency of airflow-provider-batchorch).")


class OutputValidator:
    """A compiled output schema. Raises ``RegistryError`` at construction when the schema itself is invalid."""

    def __init__(self, schema: dict[str, Any]) -> None:
        cls = validator_for(schema, default=Draft202012Validator)
        try:
            cls.check_schema(schema)
        except SchemaError as exc:
            raise RegistryError(f"output_schema is not a valid JSON Schema: {exc.message}") from None
        checker = format_checker(cls)
        _refuse_unchecked_formats(schema, checker)
        self.schema = schema
        self._validator = cls(schema, format_checker=checker)

    def errors(self, output: dict[str, Any]) -> list[str]:
        """Every problem of an already parsed output, the most relevant first (empty when valid)."""
        found = list(self._validator.iter_errors(output))
        if not found:
            return []
        best = best_match(found)
        rest = sorted((e for e in found if e is not best), key=relevance, reverse=True)
        return [_describe(best), *(_describe(e) for e in rest)]

    def validate(self, output: Any) -> dict[str, Any]:
        value = parse_output(output)
        problems = self.errors(value)
        if problems:
            raise SchemaViolation(problems[0], errors=problems)
        return value

    def is_valid(self, output: Any) -> bool:
        try:
            self.validate(output)
        except AgentRowError:
            return False
        return True
