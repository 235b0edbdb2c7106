"""The answers and errors in a batch job's output: OpenAI's output/error files, Bedrock's ``.jsonl.out`` records.

Each line becomes a ``JobAnswer`` (the raw structured output and the tokens it cost) or a ``JobError`` (why
the request has no answer); lines that are not JSON are skipped, their rows then count as unanswered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JobAnswer:
    raw: Any
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class JobError:
    reason: str


def chat_message_answer(message: dict[str, Any]) -> tuple[Any, str | None]:
    """The raw answer of a chat completion message (the output tool call's arguments, or the text) and the
    tool call's id."""
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        return function.get("arguments"), call.get("id")
    return message.get("content") or "", None


def _lines(text: str) -> list[dict[str, Any]]:
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def _openai_error(record: dict[str, Any]) -> JobError:
    error = record.get("error") or ((record.get("response") or {}).get("body") or {}).get("error") or {}
    status = (record.get("response") or {}).get("status_code")
    code = error.get("code") or (f"HTTP {status}" if status else "error")
    return JobError(f"batch API: {code}: {error.get('message') or 'no answer'}"[:300])


def parse_openai_lines(text: str) -> dict[str, JobAnswer | JobError]:
    """``{custom_id: answer or error}`` of an OpenAI batch output or error file."""
    results: dict[str, JobAnswer | JobError] = {}
    for record in _lines(text):
        request_id = record.get("custom_id")
        if not isinstance(request_id, str):
            continue
        response = record.get("response") or {}
        if record.get("error") or response.get("status_code") != 200:
            results[request_id] = _openai_error(record)
            continue
        body = response.get("body") or {}
        try:
            raw, _ = chat_message_answer(body["choices"][0]["message"])
        except (KeyError, IndexError, TypeError):
            results[request_id] = JobError("batch API: not a chat completion")
            continue
        usage = body.get("usage") or {}
        results[request_id] = JobAnswer(raw, int(usage.get("prompt_tokens") or 0),
                                        int(usage.get("completion_tokens") or 0))
    return results


def _anthropic_answer(output: dict[str, Any]) -> Any:
    for part in output.get("content") or ():
        if part.get("type") == "tool_use":
            return part.get("input")
    return "".join(part.get("text", "") for part in output.get("content") or () if part.get("type") == "text")


def parse_bedrock_lines(text: str) -> dict[str, JobAnswer | JobError]:
    """``{recordId: answer or error}`` of a Bedrock batch inference ``.jsonl.out`` file (Anthropic bodies)."""
    results: dict[str, JobAnswer | JobError] = {}
    for record in _lines(text):
        request_id = record.get("recordId")
        if not isinstance(request_id, str):
            continue
        output = record.get("modelOutput")
        if record.get("error") or not isinstance(output, dict):
            error = record.get("error") or {}
            results[request_id] = JobError(f"batch API: {error.get('errorCode', 'error')}: "
                                           f"{error.get('errorMessage') or 'no answer'}"[:300])
            continue
        usage = output.get("usage") or {}
        results[request_id] = JobAnswer(_anthropic_answer(output), int(usage.get("input_tokens") or 0),
                                        int(usage.get("output_tokens") or 0))
    return results
