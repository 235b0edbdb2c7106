"""The per-row prompt of an ``llm`` agent: ``prompt_template`` filled from the agent's inputs.

Every value is inserted as JSON (a string in double quotes, its quotes and newlines escaped, ``<`` and ``>`` as
``\\u003c``/``\\u003e``), so a cell can neither end the quoting, forge the record markers, nor read as the
template's own words; the LLM agent still sends the whole record as its data block after the text, and its
system prompt says that quoted values are data.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.transforms.engine import format_template, jinja_template
from airflow_provider_batchorch.core.transforms.names import check_names, parsed


def data_json(value: Any) -> str:
    """``value`` as one line of JSON that cannot hold ``<`` or ``>`` (so no marker line can be forged in it)."""
    text = json.dumps(value, ensure_ascii=False, default=str, separators=(", ", ": "))
    return text.replace("<", "\\u003c").replace(">", "\\u003e")


class PromptTemplate:
    def __init__(self, source: str, engine: str, input_fields: Sequence[str]) -> None:
        if engine == "jinja":
            self.template = parsed("prompt_template", jinja_template, source, finalize=data_json)
        else:
            self.template = parsed("prompt_template", format_template, source, quote=data_json)
        check_names("prompt_template", self.template.names, input_fields, what="input field")

    def render(self, inputs: Mapping[str, Any]) -> str:
        return self.template.render(inputs)


def prompt_template_of(spec: AgentSpec) -> PromptTemplate | None:
    """The agent's per-row prompt (its ``transforms.prompt_template``, the batch's effective rules), or None."""
    rules = spec.transforms
    if rules is None or not rules.prompt_template:
        return None
    return PromptTemplate(rules.prompt_template, rules.prompt_engine, [field.name for field in spec.input_fields])
