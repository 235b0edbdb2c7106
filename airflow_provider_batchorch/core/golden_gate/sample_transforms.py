"""The batch's transformation rules on a golden or judged sample: the gate scores the setup the batch runs.

``plan_sample`` plans the rules exactly as the configure step does (``plan_transforms``: the registry entry's
``transforms`` with the conf's over them), then maps the agent's inputs over the columns the input rules create
too. The sample keeps only the rows the row filter selects (the batch does not call the agent on the others), and
``answer_sample`` builds every row's inputs from the transformed row (``RowTransforms.input_row``). The effective
agent carries the rules, so an llm agent renders the batch's ``prompt_template``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.errors import TransformRowError
from airflow_provider_batchorch.core.mapping import map_inputs
from airflow_provider_batchorch.core.transforms.row_transforms import RowTransforms, plan_transforms
from airflow_provider_batchorch.core.transforms.rules import TransformRules


class SamplePlan:
    """The effective agent, its compiled rules over ``columns``, and the input mapping the batch would use."""

    def __init__(self, agent: AgentSpec, columns: Sequence[str], transforms: TransformRules | None = None,
                 input_mapping: Mapping[str, str] | None = None) -> None:
        plan = plan_transforms(agent, transforms, columns)
        self.agent, self.columns = plan.agent, list(columns)
        self.rules = RowTransforms(plan.agent, columns)
        self.input_mapping = map_inputs(plan.agent, plan.row_columns, input_mapping)

    def selected(self, rows: Iterable[dict[str, str]]) -> Iterator[dict[str, str]]:
        """The rows the batch's row filter selects, in order; a row the filter fails on stays (it fails there, as
        in the batch: ``answer_sample`` runs the filter again)."""
        for row in rows:
            try:
                if self.rules.skips(row):
                    continue
            except TransformRowError:
                pass
            yield row
