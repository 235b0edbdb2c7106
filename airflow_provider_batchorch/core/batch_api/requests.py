"""One batch-API request per distinct agent input, as the JSONL the provider takes.

Rows with the same agent inputs (the result cache's key) are asked once: the workers' in-batch dedup answers
the others from the same stored answer. Inputs already in the incremental store are not asked at all.
The request bodies are the real-time path's own (``agents.llm_batch`` builds them), so an answer means the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

OPENAI_BATCH_ENDPOINT = "/v1/chat/completions"
ANTHROPIC_BEDROCK_VERSION = "bedrock-2023-05-31"
ANTHROPIC_DEFAULT_MAX_TOKENS = 1024


def custom_id(index: int) -> str:
    return f"row-{index:07d}"


def distinct_requests(
    inputs: Iterable[dict[str, Any]], key_of: Callable[[dict[str, Any]], str],
    known: Callable[[str], bool] = lambda key: False,
) -> dict[str, tuple[str, dict[str, Any]]]:
    """``{custom_id: (key, inputs)}`` for each distinct input not ``known`` yet, in the order first seen."""
    seen: set[str] = set()
    requests: dict[str, tuple[str, dict[str, Any]]] = {}
    for row_inputs in inputs:
        key = key_of(row_inputs)
        if key in seen:
            continue
        seen.add(key)
        if not known(key):
            requests[custom_id(len(requests))] = (key, row_inputs)
    return requests


def openai_request_line(request_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"custom_id": request_id, "method": "POST", "url": OPENAI_BATCH_ENDPOINT, "body": body}


def bedrock_record(request_id: str, model_input: dict[str, Any]) -> dict[str, Any]:
    return {"recordId": request_id, "modelInput": model_input}


def anthropic_messages_body(
    *, system: str, user: str, tool_name: str, schema: dict[str, Any], description: str | None,
    max_tokens: int | None, temperature: float | None,
) -> dict[str, Any]:
    """A Bedrock Anthropic Messages body whose one forced tool is the output schema (like the tool output mode)."""
    tool: dict[str, Any] = {"name": tool_name, "input_schema": schema}
    if description:
        tool["description"] = description
    body: dict[str, Any] = {
        "anthropic_version": ANTHROPIC_BEDROCK_VERSION,
        "max_tokens": max_tokens or ANTHROPIC_DEFAULT_MAX_TOKENS,
        "system": system,
        "messages": [{"role": "user", "content": [{"type": "text", "text": user}]}],
        "tools": [tool],
        "tool_choice": {"type": "tool", "name": tool_name},
    }
    if temperature is not None:
        body["temperature"] = temperature
    return body


def to_jsonl(records: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n" for record in records)
