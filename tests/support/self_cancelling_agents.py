"""Agents that raise ``asyncio.CancelledError`` themselves on a row whose text contains ``cancel`` (nothing
cancelled their call); every other row is upper-cased like ``echo``. ``self_cancelling`` is an ``async def`` (run
in the worker's event loop with ``isolation: none``), ``self_cancelling_sync`` a plain function (run in a thread)."""

import asyncio

from airflow_provider_batchorch.core.agent_spec import AgentSpec, InputField, PythonInvocation
from tests.support.agents import OUTPUT_SCHEMA, echo


def spec(callable_name: str = "self_cancelling") -> AgentSpec:
    return AgentSpec(
        name=f"test-{callable_name.replace('_', '-')}-agent",
        description="upper-cases a text; raises CancelledError on a 'cancel' row (tests)",
        input_fields=[InputField(name="text")],
        output_schema=OUTPUT_SCHEMA,
        invocation=PythonInvocation(callable=f"tests.support.self_cancelling_agents:{callable_name}", isolation="none"),
    )


async def self_cancelling(inputs):
    if "cancel" in inputs["text"]:
        raise asyncio.CancelledError("the agent's own")
    await asyncio.sleep(0)
    return echo(inputs)


def self_cancelling_sync(inputs):
    if "cancel" in inputs["text"]:
        raise asyncio.CancelledError("the agent's own")
    return echo(inputs)
