"""The answer of a deployed agent (a Lambda payload, a state machine's output) to the row's output.

Agent state machines return ``{"structured_output": {...}, ...}``; other agents return the object itself.
An API Gateway style ``{"statusCode": 200, "body": "<json>"}`` is unwrapped. Token usage, when the agent
reports it (``usage: {input_tokens, output_tokens}`` or those two keys at the top), is read as well.
"""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_batchorch.core.output_validation import parse_output


def _decoded(value: Any) -> Any:
    return parse_output(value) if isinstance(value, (str, bytes)) else value


def structured_output_of(payload: Any) -> Any:
    """The agent's output in ``payload`` (a JSON text or a decoded value); anything but a JSON object fails the row.

    The worker validates the result against the schema; this only unwraps it."""
    value = _decoded(payload)
    if isinstance(value, dict) and "structured_output" in value:
        return _decoded(value["structured_output"])
    if isinstance(value, dict) and "statusCode" in value and isinstance(value.get("body"), str):
        return structured_output_of(value["body"])
    return value


def tokens_of(payload: Any) -> tuple[int, int]:
    """(input tokens, output tokens) that the agent reported, or zeros."""
    try:
        value = json.loads(payload) if isinstance(payload, (str, bytes)) else payload
    except (TypeError, ValueError):
        return 0, 0
    if not isinstance(value, dict):
        return 0, 0
    usage = value.get("usage") if isinstance(value.get("usage"), dict) else value
    try:
        return int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)
    except (TypeError, ValueError):
        return 0, 0
