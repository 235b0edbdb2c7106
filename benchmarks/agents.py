"""A benchmark agent: answers after a fixed latency (BATCHORCH_BENCH_LATENCY seconds), like a remote model."""

import asyncio
import os

from airflow_provider_batchorch.core.agent_spec import AgentSpec, InputField, PythonInvocation


def spec() -> AgentSpec:
    return AgentSpec(
        name="bench-latency-agent",
        input_fields=[InputField(name="text")],
        output_schema={
            "type": "object",
            "properties": {"length": {"type": "integer"}},
            "required": ["length"],
            "additionalProperties": False,
        },
        invocation=PythonInvocation(callable="benchmarks.agents:latency_agent"),
    )


async def latency_agent(inputs):
    latency = float(os.environ.get("BATCHORCH_BENCH_LATENCY", "0"))
    if latency:
        await asyncio.sleep(latency)
    return {"length": len(inputs["text"])}
