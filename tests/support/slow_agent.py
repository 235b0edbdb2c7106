"""A deliberately slow agent, imported by the workers, for tests that need an execution to stay RUNNING."""

from __future__ import annotations

import time

REGISTRY_YAML = """
agents:
  - name: slow-echo-agent
    description: Sleeps delay_seconds, then echoes the name back.
    input_fields:
      - {name: name, type: string, required: true}
      - {name: delay_seconds, type: string, required: false}
    output_schema: {type: object, properties: {echo: {type: string}}, required: [echo]}
    invocation: {kind: python, callable: "tests.support.slow_agent:echo"}
"""


def echo(row: dict) -> dict:
    time.sleep(float(row.get("delay_seconds") or 0))
    return {"echo": str(row["name"])}
