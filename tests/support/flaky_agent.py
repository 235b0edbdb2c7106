"""A test agent that fails a row the first time it sees it and succeeds after: what a retry should fix.

Rows whose text contains "flaky" fail on first sight (the agent leaves a marker file named after the text, so
separate worker processes agree); rows containing "raise" always fail; the rest are upper-cased like ``echo``.
Make the texts unique per test (a uuid) so markers from another test do not count as "seen".
"""

import hashlib
import tempfile
from pathlib import Path

from airflow_provider_batchorch.core.agent_spec import AgentSpec, InputField, PythonInvocation
from tests.support.agents import OUTPUT_SCHEMA, echo

MARKERS = Path(tempfile.gettempdir()) / "batchorch-flaky-agent"


def spec(name: str = "test-flaky-agent") -> AgentSpec:
    return AgentSpec(
        name=name,
        description="fails a 'flaky' row once, a 'raise' row always (tests)",
        input_fields=[InputField(name="text", synonyms=["value"])],
        output_schema=OUTPUT_SCHEMA,
        invocation=PythonInvocation(callable="tests.support.flaky_agent:flaky"),
    )


def flaky(inputs):
    text = inputs["text"]
    if "raise" in text:
        raise RuntimeError("permanent failure")
    if "flaky" in text and _first_sight(text):
        raise LookupError("not in the index yet")
    return echo(inputs)


def _first_sight(text: str) -> bool:
    MARKERS.mkdir(parents=True, exist_ok=True)
    marker = MARKERS / hashlib.sha256(text.encode()).hexdigest()
    try:
        marker.touch(exist_ok=False)
    except FileExistsError:
        return False
    return True


# `misbehaving` from tests.support.agents as a registry entry, for `batchorch run --registry` in a subprocess.
MISBEHAVING_REGISTRY_YAML = """
agents:
  - name: test-misbehaving-agent
    description: upper-cases a text; a text with "raise" always fails (tests)
    input_fields: [{name: text, type: string, required: true}]
    output_schema:
      type: object
      properties: {upper: {type: string}, length: {type: integer, minimum: 0}}
      required: [upper, length]
    invocation: {kind: python, callable: "tests.support.agents:misbehaving"}
"""
