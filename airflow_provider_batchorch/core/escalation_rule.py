"""When a cheap agent's answer goes to a stronger agent: the ``escalate_when`` rule of a cascading registry entry.

    escalate_to: strong-agent
    escalate_when: {confidence_below: 0.7, on_schema_failure: true, field_values: {industry: [Unknown]}}

Any condition that holds escalates the row (they are ORed): the answer's ``confidence_field`` (default
``confidence_score``) is below ``confidence_below`` or is not a number; the answer breaks the agent's output
schema (``on_schema_failure``: invalid JSON, a schema violation, or an LLM whose re-asks ran out on one); or a field
of the answer holds one of the listed values (``null`` matches a missing field or null). Other failures of the
cheap agent (errors, timeouts) are not escalated: the row fails with them. The rule model is data: a registry
entry, including one from an untrusted registry, can only pick these conditions.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

Scalar = str | int | float | bool | None


class EscalationRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confidence_below: float | None = Field(
        None, ge=0, description="Escalate when the answer's confidence field is below this, or not a number")
    confidence_field: str = Field("confidence_score", min_length=1, description="The output field read as confidence")
    on_schema_failure: bool = Field(False, description="Escalate when the answer breaks the output schema")
    field_values: dict[str, list[Scalar]] = Field(
        default_factory=dict, description="Escalate when output[field] is one of these values (null: missing or null)")

    @model_validator(mode="after")
    def _some_condition(self) -> "EscalationRule":
        if self.confidence_below is None and not self.on_schema_failure and not any(self.field_values.values()):
            raise ValueError("escalate_when needs a condition: confidence_below, on_schema_failure or field_values")
        return self

    def reason(self, output: dict[str, Any]) -> str | None:
        """Why this (schema-valid) answer escalates, short and groupable; ``None`` when the cheap answer stands."""
        if self.confidence_below is not None:
            value = output.get(self.confidence_field)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
                return f"{self.confidence_field} missing"
            if value < self.confidence_below:
                return f"{self.confidence_field} below {self.confidence_below:g}"
        for name, values in self.field_values.items():
            value = output.get(name)
            if any(_same(value, wanted) for wanted in values):
                return f"{name} = {value!r}"
        return None


def _same(value: Any, wanted: Scalar) -> bool:
    if wanted is None or value is None:
        return wanted is None and value is None
    if isinstance(wanted, bool) or isinstance(value, bool):
        return isinstance(wanted, bool) and isinstance(value, bool) and wanted == value
    return value == wanted
