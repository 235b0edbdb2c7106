"""Which CSV column feeds which agent input field, which output fields to write, and the typed inputs of a row.

Column matching, in order: the user's explicit ``input_mapping``; then the exact column name; then the same
name ignoring case and punctuation (``Company Name`` == ``company_name`` == ``companyName``); then the field's
synonyms, normalised the same way. A column feeds at most one field.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from typing import Any, Callable, Mapping, Sequence

from airflow_provider_batchorch.core.agent_spec import AgentSpec, InputField
from airflow_provider_batchorch.core.errors import (
    AgentRowError,
    InvalidConfError,
    MissingRequiredFieldError,
    UnknownOutputFieldError,
)

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_TRUE = {"true", "t", "yes", "y", "1", "on"}
_FALSE = {"false", "f", "no", "n", "0", "off"}


def normalize_name(name: str) -> str:
    """``"Company Name"``, ``"company_name"``, ``"companyName"``, ``"COMPANY-NAME"`` -> ``"companyname"``."""
    spaced = _CAMEL.sub("_", str(name).strip())
    folded = "".join(ch for ch in unicodedata.normalize("NFKD", spaced) if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]", "", folded.casefold())


def _quoted(names: list[str], limit: int = 10) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _closest(name: str, candidates: list[str], *, n: int = 3, cutoff: float = 0.5) -> list[str]:
    """Candidates closest to ``name`` compared on their normalised forms."""
    by_key: dict[str, str] = {}
    for candidate in candidates:
        by_key.setdefault(normalize_name(candidate), candidate)
    keys = difflib.get_close_matches(normalize_name(name), list(by_key), n=n, cutoff=cutoff)
    return [by_key[k] for k in keys]


def _nearest_columns(field: InputField, columns: list[str]) -> list[str]:
    scores: dict[str, float] = {}
    for column in columns:
        key = normalize_name(column)
        if not key:
            continue
        scores[column] = max(
            difflib.SequenceMatcher(None, normalize_name(candidate), key).ratio()
            for candidate in (field.name, *field.synonyms)
        )
    ranked = sorted((c for c in scores if scores[c] >= 0.5), key=lambda c: -scores[c])
    return ranked[:3]


def _resolve_explicit_column(field: str, column: str, columns: list[str]) -> str:
    if column in columns:
        return column
    same = [c for c in columns if normalize_name(c) == normalize_name(column) and normalize_name(c)]
    if len(same) == 1:
        return same[0]
    nearest = _closest(column, columns)
    raise InvalidConfError(
        f"input_mapping maps '{field}' to column '{column}', which is not in the CSV"
        + (f"; nearest columns: {_quoted(nearest)}." if nearest else f"; the CSV columns are {_quoted(columns)}."),
        hint="Use one of the CSV's column names exactly as it appears in the header.",
        details={"field": field, "column": column, "nearest_columns": nearest, "columns": columns},
    )


def _exact(field: InputField, free: list[str]) -> str | None:
    return field.name if field.name in free else None


def _normalised(field: InputField, free: list[str]) -> str | None:
    key = normalize_name(field.name)
    return next((c for c in free if normalize_name(c) == key), None)


def _synonym(field: InputField, free: list[str]) -> str | None:
    for synonym in field.synonyms:
        key = normalize_name(synonym)
        match = next((c for c in free if key and normalize_name(c) == key), None)
        if match:
            return match
    return None


_MATCHERS: tuple[Callable[[InputField, list[str]], str | None], ...] = (_exact, _normalised, _synonym)


def map_inputs(
    agent: AgentSpec, columns: list[str], explicit: Mapping[str, str | None] | None = None
) -> dict[str, str]:
    """Input field -> CSV column, in the agent's field order. Optional fields without a column are left out.

    ``explicit`` wins; mapping a field to ``None`` or ``""`` keeps it unmapped (an optional field only).
    Raises ``InvalidConfError`` for an explicit mapping that names an unknown field or column, or two fields
    on one column, and ``MissingRequiredFieldError`` when a required field has no column.
    """
    fields = {f.name: f for f in agent.input_fields}
    mapping: dict[str, str] = {}
    unmapped: set[str] = set()
    for field_name, column in (explicit or {}).items():
        if field_name not in fields:
            nearest = _closest(field_name, list(fields))
            raise InvalidConfError(
                f"input_mapping names '{field_name}', which is not an input field of agent '{agent.name}'"
                + (f"; did you mean {_quoted(nearest)}?" if nearest else "."),
                hint=f"The agent's input fields are {_quoted(list(fields))}.",
                details={"field": field_name, "nearest_fields": nearest, "input_fields": list(fields)},
            )
        if column is None or str(column).strip() == "":
            unmapped.add(field_name)
            continue
        resolved = _resolve_explicit_column(field_name, str(column), columns)
        taken_by = next((f for f, c in mapping.items() if c == resolved), None)
        if taken_by:
            raise InvalidConfError(
                f"input_mapping maps both '{taken_by}' and '{field_name}' to column '{resolved}'.",
                hint="Each CSV column can feed one input field only.",
                details={"column": resolved, "fields": [taken_by, field_name]},
            )
        mapping[field_name] = resolved

    pending = sorted((f for f in agent.input_fields if f.name not in mapping and f.name not in unmapped),
                     key=lambda f: not f.required)
    for matcher in _MATCHERS:
        for field in pending:
            if field.name in mapping:
                continue
            free = [c for c in columns if c not in mapping.values()]
            column = matcher(field, free)
            if column is not None:
                mapping[field.name] = column

    missing = [f for f in agent.required_inputs if f.name not in mapping]
    if missing:
        raise _missing_error(agent, missing, [c for c in columns if c not in mapping.values()], columns)
    return {name: mapping[name] for name in fields if name in mapping}


def _missing_error(
    agent: AgentSpec, missing: list[InputField], free: list[str], columns: list[str]
) -> MissingRequiredFieldError:
    nearest = {f.name: _nearest_columns(f, free) for f in missing}
    parts = []
    for field in missing:
        close = nearest[field.name]
        parts.append(f"'{field.name}' (nearest CSV columns: {_quoted(close)})" if close
                     else f"'{field.name}' (no similar CSV column)")
    noun = "field" if len(missing) == 1 else "fields"
    example = ", ".join(f'"{f.name}": "{(nearest[f.name] or ["<column>"])[0]}"' for f in missing)
    return MissingRequiredFieldError(
        f"Agent '{agent.name}' needs required input {noun} {', '.join(parts)}, but no CSV column matches. "
        f"CSV columns: {_quoted(columns)}.",
        hint=f"Pass input_mapping: {{{example}}} to choose the column.",
        details={"missing_fields": [f.name for f in missing], "nearest_columns": nearest, "columns": columns},
    )


def select_output_fields(agent: AgentSpec, requested: list[str] | None, *, extra: Sequence[str] = ()) -> list[str]:
    """The output fields to write: all of the schema's, in schema order, when ``requested`` is empty;
    otherwise the requested ones in the requested order (matched ignoring case and punctuation). ``extra``:
    more fields that may be requested (the derived fields of the output rules)."""
    available = [*agent.output_fields, *(name for name in extra if name not in agent.output_fields)]
    if not requested:
        return list(available)
    by_key = {normalize_name(f): f for f in available}
    selected: list[str] = []
    unknown: list[str] = []
    for name in requested:
        field = name if name in available else by_key.get(normalize_name(name))
        if field is None:
            unknown.append(name)
        elif field not in selected:
            selected.append(field)
    if unknown:
        closest = {name: _closest(name, available, n=1, cutoff=0.4) for name in unknown}
        guesses = [f"'{name}' (did you mean '{closest[name][0]}'?)" if closest[name] else f"'{name}'"
                   for name in unknown]
        noun = "field" if len(unknown) == 1 else "fields"
        raise UnknownOutputFieldError(
            f"Unknown output {noun} {', '.join(guesses)} for agent '{agent.name}'.",
            hint=f"Available fields: {', '.join(available) or '(none: the agent has no output schema)'}.",
            details={"unknown_fields": unknown, "available_fields": available,
                     "closest_fields": {k: v[0] for k, v in closest.items() if v}},
        )
    return selected


def _invalid(field: InputField, value: str) -> AgentRowError:
    shown = value if len(value) <= 40 else value[:37] + "..."
    return AgentRowError(f"Invalid input: field '{field.name}' expects {field.type}", detail=f"got {shown!r}")


def _number(field: InputField, value: str) -> float:
    raw = value.replace(" ", "").replace("_", "")
    raw = raw[1:] if raw[:1] in "$€£¥" else raw
    if re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?", raw):
        raw = raw.replace(",", "")
    try:
        number = float(raw)
    except ValueError:
        raise _invalid(field, value) from None
    if not math.isfinite(number):
        raise _invalid(field, value)
    return number


def convert_value(field: InputField, value: Any) -> Any:
    """A CSV cell (a string) as the field's type; values that are already typed pass through."""
    if not isinstance(value, str):
        return value
    if field.type == "string":
        return value
    if field.type == "boolean":
        key = value.strip().casefold()
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
        raise _invalid(field, value)
    number = _number(field, value)
    if field.type == "integer":
        if not number.is_integer():
            raise _invalid(field, value)
        return int(number)
    return number


def build_agent_inputs(row: Mapping[str, Any], mapping: Mapping[str, str], agent: AgentSpec) -> dict[str, Any]:
    """The agent's inputs for one CSV row, typed. An empty optional cell becomes None; an empty required
    cell or a value of the wrong type raises ``AgentRowError`` (the row fails, the batch goes on)."""
    inputs: dict[str, Any] = {}
    for field in agent.input_fields:
        column = mapping.get(field.name)
        if column is None:
            continue
        raw = row.get(column)
        value = raw.strip() if isinstance(raw, str) else raw
        if value is None or value == "":
            if field.required:
                raise AgentRowError(f"Missing required input: {field.name}")
            inputs[field.name] = None
            continue
        inputs[field.name] = convert_value(field, value)
    return inputs
