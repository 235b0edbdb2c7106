"""The output steps, on each validated agent output: derived fields, casts, the fields kept, their new names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from airflow_provider_batchorch.core.errors import AgentRowError, TransformRowError
from airflow_provider_batchorch.core.transforms.engine import expression, template
from airflow_provider_batchorch.core.transforms.input_rules import cast_value
from airflow_provider_batchorch.core.transforms.names import check_names, parsed, refusal
from airflow_provider_batchorch.core.transforms.rules import DerivedField, OutputRules


def _derive(field: DerivedField, where: str, known: Sequence[str]) -> Callable[[Mapping[str, Any]], Any]:
    if field.expression is not None:
        compiled = parsed(where, expression, field.expression)
        check_names(where, compiled.names, known, what="output field")
        return compiled.evaluate
    rendered = parsed(where, template, field.template, field.engine)
    check_names(where, rendered.names, known, what="output field")
    return rendered.render


def derived_names(output: OutputRules) -> list[str]:
    return [field.into for field in output.derived]


@dataclass
class OutputStep:
    derived: list[tuple[str, Callable[[Mapping[str, Any]], Any]]]
    cast: dict[str, str]
    keep: list[str]
    rename: dict[str, str]

    @property
    def columns(self) -> list[str]:
        """The output columns this writes, in order, by their final names."""
        return [self.rename.get(name, name) for name in self.keep]

    def apply(self, output: Mapping[str, Any]) -> dict[str, Any]:
        values = dict(output)
        for into, derive in self.derived:
            try:
                values[into] = derive(values)
            except AgentRowError:
                raise
            except Exception as exc:  # noqa: BLE001 - a sandboxed template failing on this row's values
                raise TransformRowError(f"Derived field '{into}' failed", detail=f"{type(exc).__name__}: {exc}") from None
        for name, to in self.cast.items():
            try:
                values[name] = cast_value(values.get(name), to, name)
            except AgentRowError as exc:
                raise TransformRowError(f"Output field '{name}' does not cast to {to}", detail=exc.detail) from None
        return {self.rename.get(name, name): values.get(name) for name in self.keep}


def compile_output_rules(output: OutputRules, agent_fields: Sequence[str]) -> OutputStep:
    """The output step of ``output`` over an agent with ``agent_fields``; ``output.keep`` empty keeps every agent
    field, then the derived ones. A name that is neither, or two fields renamed alike, are refused."""
    known = list(agent_fields)
    derived = []
    for index, field in enumerate(output.derived):
        derived.append((field.into, _derive(field, f"output.derived[{index}] ('{field.into}')", known)))
        if field.into not in known:
            known.append(field.into)
    check_names("output.cast", output.cast, known, what="output field")
    keep = list(dict.fromkeys(output.keep)) or known
    check_names("output.keep", keep, known, what="output field")
    check_names("output.rename", output.rename, known, what="output field")
    final = [output.rename.get(name, name) for name in keep]
    repeated = sorted({name for name in final if final.count(name) > 1})
    if repeated:
        raise refusal("output.rename", f"gives two output columns the name '{repeated[0]}'",
                      "Rename each field to a name of its own.", name=repeated[0])
    return OutputStep(derived=derived, cast=dict(output.cast), keep=keep, rename=dict(output.rename))
