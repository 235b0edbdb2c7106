"""The golden sample: a CSV with the agent's inputs and, for each field to score, the expected value.

The expected value of output field ``F`` is in the column ``expected_F`` or, when there is none, the column ``F``.
The other columns feed the agent's inputs like a batch's (``input_mapping``, then names and synonyms). Cells are
data, never instructions: they go to the agent as row values and are compared as values.
"""

from __future__ import annotations

import csv
import io

from pydantic import BaseModel, Field

from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.errors import GoldenSampleError
from airflow_provider_batchorch.core.golden_gate.sample_transforms import SamplePlan
from airflow_provider_batchorch.core.transforms.rules import TransformRules

EXPECTED_PREFIX = "expected_"
MAX_GOLDEN_ROWS = 10_000


class GoldenSample(BaseModel):
    source: str
    rows: list[dict[str, str]]
    labels: dict[str, str] = Field(description="Output field -> the column holding its expected value")
    input_mapping: dict[str, str] = Field(description="Agent input field -> column")
    columns: list[str] = Field(default_factory=list, description="The CSV's columns: what the input rules read")
    agent: AgentSpec | None = Field(None, description="The agent with the batch's transforms: what the gate runs")


def read_golden_sample(text: str, agent: AgentSpec, *, source: str = "<golden>",
                       input_mapping: dict[str, str] | None = None, fields: list[str] | None = None,
                       transforms: TransformRules | None = None) -> GoldenSample:
    """The labelled rows of ``text`` for ``agent``; ``fields`` limits the scored fields (default: every labelled).
    ``transforms``: the conf's, planned over the entry's as for the batch (``sample_transforms``)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = list(reader.fieldnames or [])
    wanted = fields or agent.output_fields
    labels = {}
    for name in wanted:
        column = next((c for c in (EXPECTED_PREFIX + name, name) if c in columns), None)
        if column is not None:
            labels[name] = column
    if not labels:
        raise GoldenSampleError(
            f"the golden sample {source} has no column named after an output field of '{agent.name}'.",
            hint=f"Add a column per field to score, named like the field or expected_<field>: {wanted}.",
            details={"columns": columns, "output_fields": wanted})
    inputs = [c for c in columns if c not in labels.values()]
    plan = SamplePlan(agent, inputs, transforms, input_mapping)
    rows = []
    for row in plan.selected({key: value or "" for key, value in row.items() if key is not None} for row in reader):
        rows.append(row)
        if len(rows) > MAX_GOLDEN_ROWS:
            raise GoldenSampleError(f"the golden sample {source} has more than {MAX_GOLDEN_ROWS:,} rows.",
                                    hint="A sample is a few dozen to a few hundred labelled rows.")
    if not rows:
        raise GoldenSampleError(f"the golden sample {source} has no rows.", hint="Add labelled rows under the header.")
    return GoldenSample(source=source, rows=rows, labels=labels, input_mapping=plan.input_mapping, columns=inputs,
                        agent=plan.agent)
