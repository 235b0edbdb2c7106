"""The template and expression engines of the transformation rules: text from a conf, never code.

- ``format``: ``"{first} {last}"``. Only ``{name}`` placeholders (any characters but braces), ``{{`` and ``}}``
  for literal braces; no attribute access, indexing or format specs (unlike ``str.format``).
- ``jinja``: jinja2's ``ImmutableSandboxedEnvironment`` (no attribute that is private or mutates, no
  ``__import__``). The sandbox keeps code out, not work: here also no ``{% for %}``, ``{% macro %}`` or
  ``{% call %}`` (loops and recursion), no ``%`` string formatting, ``format`` filter, ``str.format`` or
  ``lipsum``, no power (``**``) past a size, no filter or method given a number over ``MAX_RENDERED``, and no
  value past ``MAX_RENDERED`` characters made by ``*`` or ``+``, passed to a filter or method, or made by a
  growing one (``join``, ``replace``, ``indent``, ``center``/``ljust``/``rjust``/``zfill``, ``expandtabs``,
  ``translate``: their result's size is worked out from the arguments before they run); every rendered text is
  capped too.

The ``row`` variable holds every value by name. A column (or input step) named ``row`` is shadowed by it in jinja:
``{{ row }}`` is the dict, so read that column as ``{{ row["row"] }}`` (or ``{row}`` in a ``format`` template).

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
REFUSED_GLOBALS = ("lipsum",)  # lipsum(100000) is megabytes of text from a few characters
ROW_VARIABLE = "row"  # every value by name, for names that are no identifier: row["Company Name"]

_FORMAT_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class EngineError(ValueError):
    """A template or expression that does not parse, or refers to a filter or test that does not exist."""


class SizeLimitError(SecurityError):
    """A value a rule would make (or hand to a filter or method) is over ``MAX_RENDERED`` characters."""


def _size(value: Any, budget: int = MAX_RENDERED) -> int:
    """The characters ``value`` takes as text, counted up to just past ``budget`` (a list made of references to one
    big text counts every reference; the count stops early, so shared references cannot make it slow)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        total = 2
        for item in (value.items() if isinstance(value, dict) else value):
            total += 2 + _size(item, budget - total)
            if total > budget:
                break
        return total
    if isinstance(value, (bool, int)):
        return 1 if isinstance(value, bool) else max(1, abs(value).bit_length() * 3 // 10)
    return 1


def _check_size(size: int, what: str) -> None:
    if size > MAX_RENDERED:
        raise SizeLimitError(f"{what} would be {size if size < 10 * MAX_RENDERED else 'over ' + str(size)} "
                             f"characters, over the limit of {MAX_RENDERED}")


def _check_values(args: tuple, kwargs: dict) -> None:
    for value in (*args, *kwargs.values()):
        _check_size(_size(value), "a value given to a filter or method")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _joined_size(items: Any, separator: Any) -> int:
    items = list(items)
    return sum(_size(item) for item in items) + len(_text(separator)) * max(len(items) - 1, 0)


def _replaced_size(text: Any, old: Any, new: Any, count: Any = -1) -> int:
    text, old, new = _text(text), _text(old), _text(new)
    hits = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * max(len(new) - len(old), 0)


def _indented_size(text: Any, width: Any = 4, *_: Any, **__: Any) -> int:
    prefix = width if isinstance(width, str) else " " * width if isinstance(width, int) else ""
    return len(_text(text)) * (1 + len(prefix))


def _padded_size(text: Any, width: Any = 0, *_: Any) -> int:
    return max(len(_text(text)), width if isinstance(width, int) else 0)


def _tabs_size(text: Any, tabsize: Any = 8) -> int:
    return len(_text(text)) + _text(text).count("\t") * (tabsize if isinstance(tabsize, int) else 8)


# what a growing filter or str method would make, from its arguments (value first), before it runs
_FILTER_SIZES: dict[str, Callable[..., int]] = {
    "join": lambda value, d="", *_, **__: _joined_size(value, d),
    "replace": lambda value, old, new, count=None: _replaced_size(value, old, new, -1 if count is None else count),
    "indent": _indented_size,
    "center": _padded_size,
}
_METHOD_SIZES: dict[str, Callable[..., int]] = {
    "join": lambda separator, items: _joined_size(items, separator),
    "replace": _replaced_size,
    "center": _padded_size, "ljust": _padded_size, "rjust": _padded_size, "zfill": _padded_size,
    "expandtabs": _tabs_size,
    "translate": lambda text, table: len(text) * max([1, *(_size(v) for v in getattr(table, "values", list)())]),
}


def _check_numbers(args: tuple, kwargs: dict) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_RENDERED:
            raise SecurityError(f"the number {value} is over the limit of {MAX_RENDERED} for a filter or method")


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    sized = _FILTER_SIZES.get(name)
    context_args = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0  # eval_ctx / environment

    @functools.wraps(function)  # keeps jinja's pass_context / pass_environment marks
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _check_numbers(args, kwargs)
        arguments = args[context_args:]
        _check_values(arguments, kwargs)
        if sized is not None:
            if arguments and not isinstance(arguments[0], (str, list, tuple, dict)):
                arguments = (list(arguments[0]) if hasattr(arguments[0], "__iter__") else arguments[0],
                             *arguments[1:])
                args = (*args[:context_args], *arguments)
            try:
                size = sized(*arguments, **kwargs)
            except TypeError:  # the filter itself says what is wrong with its arguments
                size = 0
            _check_size(size, f"the {name} filter's result")
        return function(*args, **kwargs)

    return bounded


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        for name in REFUSED_FILTERS:
            self.filters.pop(name, None)
        for name in REFUSED_GLOBALS:
            self.globals.pop(name, None)
        self.filters = {name: _bounded_filter(name, function) for name, function in self.filters.items()}

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*" and any(isinstance(side, (str, list, tuple)) for side in (left, right)):
            sequence, count = (left, right) if isinstance(left, (str, list, tuple)) else (right, left)
            if isinstance(count, int) and count * max(len(sequence), 1) > MAX_RENDERED:
                raise SecurityError(f"repeating a value {count} times is over the limit of {MAX_RENDERED} items")
            if isinstance(count, int) and count > 0:
                _check_size(count * _size(sequence, MAX_RENDERED // count + 1), f"repeating a value {count} times")
        if operator == "+" and all(isinstance(side, (str, list, tuple)) for side in (left, right)):
            _check_size(_size(left) + _size(right), "joining two values with +")
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
        _check_values(args, kwargs)
        sized = _METHOD_SIZES.get(getattr(__obj, "__name__", ""))
        if sized is not None and isinstance(getattr(__obj, "__self__", None), str):
            try:
                size = sized(__obj.__self__, *args, **kwargs)
            except TypeError:  # the method itself says what is wrong with its arguments
                size = 0
            _check_size(size, f"str.{__obj.__name__}'s result")
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
