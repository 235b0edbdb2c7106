"""Agents that take their process down, or freeze it, on one row: the fault corpus of tests/chaos/test_poison_rows.py.

A row whose text contains the name of a poison kind triggers it; every other row is upper-cased like ``echo``.
``poison`` is a plain function (run in the child's threads), ``poison_async`` an ``async def`` (run in the
child's event loop); ``blocked-loop`` only makes sense for the latter.
"""

import asyncio
import ctypes
import os
import sys
import threading
import time

from airflow_provider_batchorch.core.agent_spec import AgentSpec, InputField, PythonInvocation
from tests.support.agents import OUTPUT_SCHEMA, echo

# kind -> the _error_code its row must end with
KINDS = {
    "sys-exit": "AGENT_CRASHED",
    "os-exit": "AGENT_CRASHED",
    "keyboard-interrupt": "AGENT_CRASHED",
    "segfault": "AGENT_CRASHED",
    "sleep-forever": "AGENT_TIMEOUT",
    "blocked-loop": "AGENT_TIMEOUT",
}


def spec(callable_name: str = "poison", *, isolation: str | None = None) -> AgentSpec:
    return AgentSpec(
        name=f"test-{callable_name.replace('_', '-')}-agent",
        description="upper-cases a text; crashes, exits or hangs on a poison row (tests)",
        input_fields=[InputField(name="text")],
        output_schema=OUTPUT_SCHEMA,
        invocation=PythonInvocation(callable=f"tests.support.poison_agents:{callable_name}", isolation=isolation),
    )


def _strike(text: str) -> None:
    if "sys-exit" in text:
        sys.exit(3)
    if "os-exit" in text:
        os._exit(7)
    if "keyboard-interrupt" in text:
        raise KeyboardInterrupt
    if "segfault" in text:
        ctypes.string_at(0)
    if "sleep-forever" in text:
        # A non-daemon thread that never ends, joined: the process could never exit on its own either.
        sleeper = threading.Thread(target=time.sleep, args=(10**6,))
        sleeper.start()
        sleeper.join()


def poison(inputs):
    _strike(inputs["text"])
    time.sleep(0.005)
    return echo(inputs)


async def poison_async(inputs):
    text = inputs["text"]
    if "blocked-loop" in text:
        while True:  # never yields: the event loop it runs on is frozen
            pass
    _strike(text)
    await asyncio.sleep(0.005)
    return echo(inputs)
