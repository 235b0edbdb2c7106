"""The template and expression engines of the transformation rules: text from a conf, never code.

- ``format``: ``"{first} {last}"``. Only ``{name}`` placeholders (any characters but braces), ``{{`` and ``}}``
  for literal braces; no attribute access, indexing or format specs (unlike ``str.format``).
- ``jinja``: jinja2's ``ImmutableSandboxedEnvironment`` (no attribute that is private or mutates, no
  ``__import__``). The sandbox keeps code out, not work: here also no ``{% for %}``, ``{% macro %}`` or
  ``{% call %}`` (loops and recursion), no ``%`` string formatting, ``format`` filter or ``str.format``, no
  repetition (``*``) or power (``**``) past a size, no filter or method given a number over ``MAX_RENDERED``,
  and every rendered text capped at ``MAX_RENDERED`` characters.

Values are only ever *inserted*: a cell that reads ``{{ 7*7 }}`` or ``{__import__}`` comes out as those
characters, since what is filled in is never parsed again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import functools

from jinja2 import TemplateError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from airflow_provider_batchorch.core.csv.output import format_cell

MAX_RENDERED = 100_000  # characters a template may produce for one row
MAX_POWER_BITS = 100_000  # the largest integer a power may make, in bits
REFUSED_STATEMENTS = (nodes.For, nodes.Macro, nodes.CallBlock)
REFUSED_FILTERS = ("format",)
ROW_VARIABLE = "row"  # every value by name, for names that are no identifier: row["Company Name"]

_FORMAT_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class EngineError(ValueError):
    """A template or expression that does not parse, or refers to a filter or test that does not exist."""


def _check_numbers(args: tuple, kwargs: dict) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_RENDERED:
            raise SecurityError(f"the number {value} is over the limit of {MAX_RENDERED} for a filter or method")


def _bounded_filter(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)  # keeps jinja's pass_context / pass_environment marks
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _check_numbers(args, kwargs)
        return function(*args, **kwargs)

    return bounded


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        for name in REFUSED_FILTERS:
            self.filters.pop(name, None)
        self.filters = {name: _bounded_filter(function) for name, function in self.filters.items()}

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*" and any(isinstance(side, (str, list, tuple)) for side in (left, right)):
            sequence, count = (left, right) if isinstance(left, (str, list, tuple)) else (right, left)
            if isinstance(count, int) and count * max(len(sequence), 1) > MAX_RENDERED:
                raise SecurityError(f"repeating a value {count} times is over the limit of {MAX_RENDERED} items")
        if operator == "**" and isinstance(left, int) and isinstance(right, int):
            if abs(left).bit_length() * abs(right) > MAX_POWER_BITS:
                raise SecurityError(f"{left} ** {right} is over the limit of {MAX_POWER_BITS} bits")
        if operator == "%" and isinstance(left, str):
            raise SecurityError("string formatting with % is not available")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - jinja's names
        if getattr(__obj, "__name__", "") in ("format", "format_map"):  # the sandbox hands str.format out wrapped
            raise SecurityError("str.format is not available")
        _check_numbers(args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)


_ENV = _BoundedSandbox(autoescape=False, keep_trailing_newline=True)


def _capped(text: str) -> str:
    if len(text) > MAX_RENDERED:
        raise SecurityError(f"the rendered text is {len(text)} characters, over the limit of {MAX_RENDERED}")
    return text


@dataclass(frozen=True)
class Template:
    """A parsed template: ``names`` it refers to, ``render(values)`` to text."""

    source: str
    names: frozenset[str]
    render: Callable[[Mapping[str, Any]], str]


def _format_parts(source: str) -> list[tuple[bool, str]]:
    """``(is_placeholder, text)`` pieces of a format template, or ``EngineError``."""
    parts: list[tuple[bool, str]] = []
    position = 0
    for match in _FORMAT_TOKEN.finditer(source):
        parts.append((False, source[position:match.start()]))
        token = match.group(0)
        if token in ("{{", "}}"):
            parts.append((False, token[0]))
        elif match.group(1) is None:
            raise EngineError(f"unmatched {token!r} at character {match.start() + 1} (write {token * 2} for a brace)")
        elif not match.group(1).strip():
            raise EngineError(f"empty placeholder {{}} at character {match.start() + 1}: name a column")
        else:
            parts.append((True, match.group(1).strip()))
        position = match.end()
    parts.append((False, source[position:]))
    return [part for part in parts if part[0] or part[1]]


def format_template(source: str, *, quote: Callable[[Any], str] = format_cell) -> Template:
    parts = _format_parts(source)

    def render(values: Mapping[str, Any]) -> str:
        return _capped("".join(quote(values.get(text)) if hole else text for hole, text in parts))

    return Template(source, frozenset(text for hole, text in parts if hole), render)


def _parsed_names(source: str) -> frozenset[str]:
    tree = _ENV.parse(source)
    for node in tree.find_all(REFUSED_STATEMENTS):
        raise EngineError(f"{{% {type(node).__name__.lower().replace('callblock', 'call')} %}} is not available in "
                          f"a rule (line {node.lineno}): use filters and expressions")
    return frozenset(meta.find_undeclared_variables(tree))


def _context(values: Mapping[str, Any]) -> dict[str, Any]:
    return {**values, ROW_VARIABLE: dict(values)}


def jinja_template(source: str, *, finalize: Callable[[Any], Any] | None = None) -> Template:
    environment = _ENV if finalize is None else _ENV.overlay(finalize=finalize)
    try:
        compiled = environment.from_string(source)
        names = _parsed_names(source)
    except TemplateError as exc:
        raise EngineError(f"{type(exc).__name__}: {exc}") from None

    def render(values: Mapping[str, Any]) -> str:
        return _capped(compiled.render(_context(values)))

    return Template(source, names, render)


def template(source: str, engine: str) -> Template:
    return jinja_template(source) if engine == "jinja" else format_template(source)


@dataclass(frozen=True)
class Expression:
    """A parsed jinja expression: ``names`` it refers to, ``evaluate(values)`` to a Python value."""

    source: str
    names: frozenset[str]
    evaluate: Callable[[Mapping[str, Any]], Any]


def expression(source: str) -> Expression:
    try:
        compiled = _ENV.compile_expression(source, undefined_to_none=True)
        names = _parsed_names("{{ (" + source + ") }}")
    except TemplateError as exc:
        raise EngineError(f"{type(exc).__name__}: {exc}") from None

    def evaluate(values: Mapping[str, Any]) -> Any:
        value = compiled(**_context(values))
        if isinstance(value, str):
            _capped(value)
        return value

    return Expression(source, names, evaluate)
