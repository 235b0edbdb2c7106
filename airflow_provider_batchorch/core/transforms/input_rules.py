"""The input steps: run in order on a copy of each row, each writing one value (``into``) that the later steps,
the mapping to the agent's inputs and the prompt template see. The row as read is left as it is."""

from __future__ import annotations

import json
from typing import Any, Callable, Sequence

from jsonpath_ng import parse as parse_jsonpath
from jsonpath_ng.exceptions import JSONPathError

from airflow_provider_batchorch.core.agent_spec import InputField
from airflow_provider_batchorch.core.csv.output import format_cell
from airflow_provider_batchorch.core.errors import TransformRowError
from airflow_provider_batchorch.core.mapping import convert_value
from airflow_provider_batchorch.core.transforms.engine import template
from airflow_provider_batchorch.core.transforms.names import check_names, parsed, refusal
from airflow_provider_batchorch.core.transforms.rules import (
    CastRule,
    ConcatRule,
    InputRule,
    JsonPathRule,
    StaticRule,
    TemplateRule,
)

Values = dict[str, Any]
Step = Callable[[Values], None]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def cast_value(value: Any, to: str, name: str) -> Any:
    """``value`` as ``to`` (string, integer, number, boolean); empty stays None; a wrong value fails the row."""
    if _blank(value):
        return None
    if to == "string":
        return format_cell(value)
    if isinstance(value, bool) and to != "boolean":
        return int(value) if to == "integer" else float(value)
    return convert_value(InputField(name=name, type=to), value if isinstance(value, str) else format_cell(value))


def _concat(rule: ConcatRule) -> Step:
    def step(values: Values) -> None:
        parts = [format_cell(values.get(column)) for column in rule.columns]
        values[rule.into] = rule.separator.join(p for p in parts if rule.keep_empty or p.strip())
    return step


def _template(rule: TemplateRule, where: str, known: Sequence[str]) -> Step:
    compiled = parsed(where, template, rule.template, rule.engine)
    check_names(where, compiled.names, known, what="column")

    def step(values: Values) -> None:
        values[rule.into] = compiled.render(values)
    return step


def _found(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if isinstance(value, (dict, list)) else value


def _jsonpath(rule: JsonPathRule, where: str) -> Step:
    try:
        path = parse_jsonpath(rule.path)
    except JSONPathError as exc:
        raise refusal(where, f"JSONPath {rule.path!r} does not parse: {exc}",
                      "Write a JSONPath such as $.address.city or $.tags[0].", path=rule.path) from None

    def step(values: Values) -> None:
        cell = values.get(rule.column)
        if _blank(cell):
            values[rule.into] = rule.default
            return
        try:
            document = json.loads(cell) if isinstance(cell, str) else cell
        except json.JSONDecodeError as exc:
            raise TransformRowError(f"Invalid input: column '{rule.column}' is not JSON",
                                detail=f"{exc.msg} at character {exc.pos + 1}") from None
        matches = [match.value for match in path.find(document)]
        if not matches:
            values[rule.into] = rule.default
        else:
            values[rule.into] = _found(matches[0] if len(matches) == 1 else matches)
    return step


def _static(rule: StaticRule) -> Step:
    def step(values: Values) -> None:
        values[rule.into] = rule.value
    return step


def _cast(rule: CastRule) -> Step:
    def step(values: Values) -> None:
        values[rule.target] = cast_value(values.get(rule.column), rule.to, rule.column)
    return step


def compile_input_rules(rules: Sequence[InputRule], columns: Sequence[str]) -> tuple[list[Step], list[str]]:
    """The steps of ``rules`` and every name a row has after them (the columns, then each new ``into``).
    A rule that names a column no earlier step made, or does not parse, is refused (``TransformRuleError``)."""
    known = list(columns)
    steps: list[Step] = []
    for index, rule in enumerate(rules):
        where = f"input[{index}] ({rule.kind} into '{getattr(rule, 'into', None) or getattr(rule, 'column', '')}')"
        if isinstance(rule, ConcatRule):
            check_names(where, rule.columns, known, what="column")
            steps.append(_concat(rule))
        elif isinstance(rule, TemplateRule):
            steps.append(_template(rule, where, known))
        elif isinstance(rule, JsonPathRule):
            check_names(where, [rule.column], known, what="column")
            steps.append(_jsonpath(rule, where))
        elif isinstance(rule, StaticRule):
            steps.append(_static(rule))
        else:
            check_names(where, [rule.column], known, what="column")
            steps.append(_cast(rule))
        target = rule.target if isinstance(rule, CastRule) else rule.into
        if target not in known:
            known.append(target)
    return steps, known
