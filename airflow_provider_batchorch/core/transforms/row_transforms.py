"""A batch's transformation rules, parsed and checked once: what ``RowProcessor`` calls for every row.

Building one is the validation: ``plan_transforms`` (the configure step, and ``batchorch run``'s preflight)
builds it before any row runs, so an unknown column or field, or a template or expression that does not parse,
is refused in one line (``TransformRuleError``); the workers build it again from ``BatchConfig.agent.transforms``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from pydantic import BaseModel, Field

from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.errors import AgentRowError, TransformRowError
from airflow_provider_batchorch.core.mapping import select_output_fields
from airflow_provider_batchorch.core.transforms.input_rules import compile_input_rules
from airflow_provider_batchorch.core.transforms.names import refusal
from airflow_provider_batchorch.core.transforms.output_rules import compile_output_rules, derived_names
from airflow_provider_batchorch.core.transforms.prompt_template import prompt_template_of
from airflow_provider_batchorch.core.transforms.row_filter import RowFilter
from airflow_provider_batchorch.core.transforms.rules import TransformRules, merge_rules


class RowTransforms:
    """The compiled rules of one batch, ``agent.transforms`` (none: every method passes the row or output through)."""

    def __init__(self, agent: AgentSpec, columns: Sequence[str]) -> None:
        rules = agent.transforms or TransformRules()
        self.rules = rules
        self._steps, self.row_columns = compile_input_rules(rules.input, columns)
        self._filter = RowFilter(rules.filter, columns) if rules.filter else None
        self._output = None if rules.output.empty else compile_output_rules(rules.output, agent.output_fields)
        if rules.prompt_template and agent.invocation.kind != "llm":
            raise refusal("prompt_template", f"is for llm agents; agent '{agent.name}' is of kind "
                          f"'{agent.invocation.kind}'", "Leave prompt_template out, or choose an llm agent.")
        self.prompt = prompt_template_of(agent)

    @property
    def output_columns(self) -> list[str] | None:
        """The output fields' final names, in order; None: the output rules change nothing."""
        return self._output.columns if self._output else None

    def skips(self, row: Mapping[str, Any]) -> bool:
        return self._filter is not None and not self._filter.selects(row)

    def input_row(self, row: Mapping[str, Any]) -> Mapping[str, Any]:
        """The row the mapping reads: the cells as read plus what each input step wrote."""
        if not self._steps:
            return row
        values = dict(row)
        for index, step in enumerate(self._steps):
            try:
                step(values)
            except TransformRowError:
                raise
            except AgentRowError as exc:  # a cast that does not fit the value
                raise TransformRowError(exc.reason, detail=exc.detail) from None
            except Exception as exc:  # noqa: BLE001 - a sandboxed template failing on this row's cells
                rule = self.rules.input[index]
                raise TransformRowError(f"Input rule {index} ({rule.kind}) failed",
                                        detail=f"{type(exc).__name__}: {exc}") from None
        return values

    def output(self, output: Mapping[str, Any]) -> Mapping[str, Any]:
        return self._output.apply(output) if self._output else output


class TransformPlan(BaseModel):
    """What the configure step takes from the rules."""

    agent: AgentSpec = Field(description="With the batch's effective rules as its transforms: what workers receive")
    row_columns: list[str] = Field(description="The CSV's columns and the input steps' new ones: what mapping may use")
    output_fields: list[str] | None = Field(description="The output columns' final names; None: no output rules")


def plan_transforms(agent: AgentSpec, conf: TransformRules | None, columns: Sequence[str],
                    output_fields: Sequence[str] = ()) -> TransformPlan:
    """The registry entry's rules with the conf's over them (``merge_rules``), checked against the CSV's
    ``columns`` and the agent. ``output_fields`` (the conf's) is the conf's ``keep`` spelled the old way; both
    may name a field by its new name too (a retry of a renamed output asks for the header's names)."""
    if not agent.transforms and not conf:
        return TransformPlan(agent=agent, row_columns=list(columns), output_fields=None)
    rules = merge_rules(agent.transforms, conf)
    inverse = {new: old for old, new in rules.output.rename.items()}

    def resolved(names: Sequence[str]) -> list[str]:  # matched like output_fields, derived fields included
        return select_output_fields(agent, [inverse.get(name, name) for name in names],
                                    extra=derived_names(rules.output))

    if output_fields:
        asked = resolved(output_fields)
        if conf and conf.output.keep and resolved(conf.output.keep) != asked:
            raise refusal("output.keep", "and output_fields choose different output fields",
                          "Give one of them: transforms.output.keep, or output_fields.")
        rules.output.keep = asked
    elif rules.output.keep:
        rules.output.keep = resolved(rules.output.keep)
    effective = agent.model_copy(update={"transforms": None if rules.empty else rules})
    transforms = RowTransforms(effective, columns)
    return TransformPlan(agent=effective, row_columns=transforms.row_columns, output_fields=transforms.output_columns)
