"""The run settings as data, read from ``BatchRequest``'s fields: what the trigger form (``dag_builders/params``),
the DAG docs table, ``batchorch run``'s flags (``cli/run_flags``) and the README table are generated from.

A setting's name, type, default, range, title and description are written once, on the model's ``Field``:

    [setting.name for setting in run_settings()]    # ['csv_uri', 'agent', 'concurrency', ...]
    settings_table()                                # the markdown table of the DAG docs and the README
"""

from __future__ import annotations

import json
import types
import typing
from dataclasses import dataclass
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from airflow_provider_batchorch.core.number_limits import NumberRange, number_range

JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "array"}


@dataclass(frozen=True)
class RunSetting:
    """One field of a run-settings model, in the words of JSON Schema."""

    name: str
    json_type: str
    nullable: bool
    required: bool
    default: Any
    title: str
    description: str
    item_type: str | None = None
    numbers: NumberRange | None = None
    min_length: int | None = None
    choices: tuple[str, ...] | None = None  # a Literal field's values

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of the value (``type``, ``items``, bounds, ``minLength``, ``description``)."""
        schema: dict[str, Any] = {"type": ["null", self.json_type] if self.nullable else self.json_type}
        if self.item_type:
            schema["items"] = {"type": self.item_type}
        if self.numbers is not None:
            if self.numbers.low is not None:
                schema["minimum" if self.numbers.low_inclusive else "exclusiveMinimum"] = self.numbers.low
            if self.numbers.high is not None:
                schema["maximum" if self.numbers.high_inclusive else "exclusiveMaximum"] = self.numbers.high
        if self.min_length is not None:
            schema["minLength"] = self.min_length
        if self.choices:
            schema["enum"] = list(self.choices)
        words = {"title": self.title, "description": self.description}
        return {**schema, **{key: value for key, value in words.items() if value}}

    def shown_default(self) -> str:
        """The default as the docs write it: ``required``, ``10``, ``true``, ``null``, ``{}``."""
        return "required" if self.required else json.dumps(self.default)

    def meaning(self) -> str:
        """The description, with the range when there is one."""
        numbers = f" ({self.numbers.describe()})" if self.numbers is not None else ""
        return self.description + numbers


def run_settings(model: type[BaseModel] | None = None, *, titled: bool = True) -> list[RunSetting]:
    """Every field of ``model`` (default ``BatchRequest``), in the model's order. ``titled``: each field must have
    a title and a description (what a form, a docs table and a flag show); else they may be empty."""
    if model is None:
        from airflow_provider_batchorch.core.models import BatchRequest as model
    return [_setting(model, name, titled) for name in model.model_fields]


def _setting(model: type[BaseModel], name: str, titled: bool) -> RunSetting:
    info = model.model_fields[name]
    kinds = list(typing.get_args(info.annotation)) if isinstance(info.annotation, types.UnionType) else [info.annotation]
    nullable = type(None) in kinds
    (kind,) = [kind for kind in kinds if kind is not type(None)]
    origin = typing.get_origin(kind) or kind
    choices = typing.get_args(kind) if origin is typing.Literal else None
    item_type = JSON_TYPES[typing.get_args(kind)[0]] if origin is list else None
    required = info.is_required()
    default = None if required else info.get_default(call_default_factory=True)
    min_lengths = [c.min_length for c in info.metadata if isinstance(c, annotated_types.MinLen)]
    if titled and not (info.title and info.description):
        raise TypeError(f"{model.__name__}.{name} needs a title and a description: the form, docs and flags show them")
    return RunSetting(
        name=name,
        json_type="object" if isinstance(origin, type) and issubclass(origin, BaseModel)
        else "string" if choices else JSON_TYPES[origin],
        nullable=nullable,
        required=required,
        default=default if default is not PydanticUndefined else None,
        title=info.title or "",
        description=info.description or "",
        item_type=item_type,
        numbers=number_range(model, name) if origin in (int, float) else None,
        min_length=min_lengths[0] if min_lengths else None,
        choices=choices,
    )


def settings_table(model: type[BaseModel] | None = None, *, flags: dict[str, str] | None = None) -> str:
    """The markdown table ``| key | default | meaning |`` of every setting; with ``flags`` (field -> how the CLI
    spells it, ``""`` for none) a ``batchorch run`` column too."""
    flag_column = flags is not None
    rows = ["| key | " + ("`batchorch run` | " if flag_column else "") + "default | meaning |",
            "|---|" + ("---|" if flag_column else "") + "---|---|"]
    for setting in run_settings(model):
        meaning = setting.meaning().replace("|", "\\|")
        default = setting.shown_default() if setting.required else f"`{setting.shown_default()}`"
        flag = ""
        if flag_column:
            flag = f"`{flags[setting.name]}` | " if flags.get(setting.name) else "conf only | "
        rows.append(f"| `{setting.name}` | {flag}{default} | {meaning} |")
    return "\n".join(rows)


TABLE_START = "<!-- run-settings:start (generated by scripts/generate_settings_table.py from BatchRequest) -->"
TABLE_END = "<!-- run-settings:end -->"


def with_settings_table(text: str, model: type[BaseModel] | None = None, *, flags: dict[str, str] | None = None,
                        ) -> str:
    """``text`` (the README) with the settings table between its ``TABLE_START`` and ``TABLE_END`` lines renewed."""
    head, start, rest = text.partition(TABLE_START)
    _, end, tail = rest.partition(TABLE_END)
    if not (start and end):
        raise ValueError(f"no {TABLE_START!r} ... {TABLE_END!r} block to fill")
    return f"{head}{start}\n{settings_table(model, flags=flags)}\n{end}{tail}"
