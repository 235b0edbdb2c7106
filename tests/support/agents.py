"""Agents for tests: each misbehaviour is triggered by the row's own text, so expectations are per row."""

import os
import time

from airflow_provider_batchorch.core.agent_spec import AgentSpec, InputField, PythonInvocation

OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {"upper": {"type": "string"}, "length": {"type": "integer", "minimum": 0}},
    "required": ["upper", "length"],
    "additionalProperties": False,
}


def spec(callable_name: str = "echo", name: str = "test-echo-agent") -> AgentSpec:
    return AgentSpec(
        name=name,
        description="upper-cases a text (tests)",
        input_fields=[InputField(name="text", synonyms=["value"])],
        output_schema=OUTPUT_SCHEMA,
        invocation=PythonInvocation(callable=f"tests.support.agents:{callable_name}"),
    )


def echo(inputs):
    text = inputs["text"]
    return {"upper": text.upper(), "length": len(text)}


def slow(inputs):
    time.sleep(float(os.environ.get("BATCHORCH_TEST_AGENT_LATENCY", "0.05")))
    return echo(inputs)


def misbehaving(inputs):
    """'raise' -> exception, 'hang' -> past any test timeout, 'garbage' -> not JSON, 'violate' -> schema violation."""
    text = inputs["text"]
    if "raise" in text:
        raise RuntimeError("boom")
    if "hang" in text:
        time.sleep(30)
    if "garbage" in text:
        return '{"upper": "trunc'
    if "violate" in text:
        return {"upper": text, "length": "many"}
    return echo(inputs)
