"""The OpenAI-compatible chat path of LLM agents: one aiohttp request per answer, the request built once per agent.

Measured on 2 cores (ARCHITECTURE.md, "LLM clients on 2 cores"): a row through pydantic-ai's ``Agent.run`` over
the openai SDK costs 10-13 ms of CPU, a plain aiohttp request 0.3-0.4 ms. For OpenAI-compatible servers
(``base_url`` or ``openai:``) an ``LlmAgent`` therefore talks chat completions itself, with the same contract as
its pydantic-ai path:

- the request pydantic-ai would send (system prompt, the output tool / JSON-schema response format / prompted
  schema, settings), its constant part serialised once per agent; per row only the user message is added;
- each answer checked once by the agent's ``OutputValidator``; a wrong answer (not JSON, a schema violation) is
  re-asked with the errors (a ``tool`` message answering the output tool call, or a user message), up to
  ``max_retries`` times, then the row fails with the validator's reason for the last answer;
- HTTP errors raised as ``ChatHttpError`` (``status_code``, ``headers``), connection faults as
  ``ChatConnectionError`` / ``TimeoutError``: ``core.backoff`` classifies them (429 + ``Retry-After``, 5xx).

One ``aiohttp.ClientSession`` per worker process, event loop and endpoint (``shared_session``), with an unbounded
connection pool (rows in flight are bounded by the chunk's lanes and the agent's limiter), reused by every chunk.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from airflow_provider_batchorch.core.batch_api.results import chat_message_answer as _answer_of
from airflow_provider_batchorch.core.errors import AgentRowError
from airflow_provider_batchorch.core.output_validation import OutputValidator

OUTPUT_TOOL = "final_result"
REASK_SUFFIX = "Fix the errors and try again."
MAX_PROBLEMS_IN_REASK = 10
_ERROR_BODY_CHARS = 500


class ChatHttpError(Exception):
    """A non-2xx answer of the chat completions endpoint."""

    def __init__(self, status_code: int, headers: dict[str, str], body: str) -> None:
        super().__init__(f"HTTP {status_code}: {body[:_ERROR_BODY_CHARS]}")
        self.status_code = status_code
        self.headers = headers


class ChatConnectionError(ConnectionError):
    """The request did not get an answer (refused, reset, closed): transient for ``core.backoff``."""


@dataclass
class TokenCount:
    input_tokens: int = 0
    output_tokens: int = 0


_sessions: dict[tuple[int, str], tuple[asyncio.AbstractEventLoop, aiohttp.ClientSession]] = {}


def shared_session(base_url: str) -> aiohttp.ClientSession:
    """This process's session for ``base_url`` on the running loop (a session belongs to the loop that opened it)."""
    loop = asyncio.get_running_loop()
    key = (id(loop), base_url)
    entry = _sessions.get(key)
    if entry is None or entry[0] is not loop or entry[1].closed:
        for other in [k for k, (other_loop, _) in _sessions.items() if other_loop.is_closed()]:
            _sessions.pop(other)  # sessions of finished loops: their sockets went with the loop
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, keepalive_timeout=60)
        entry = (loop, aiohttp.ClientSession(connector=connector, json_serialize=json.dumps))
        _sessions[key] = entry
    return entry[1]


async def post_request(base_url: str, url: Any, body: bytes, headers: dict[str, str],
                       timeout: aiohttp.ClientTimeout) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one POST over this process's session for ``base_url``; no answer at all (refused,
    reset, closed, timed out) raises ``ChatConnectionError`` / ``TimeoutError``, transient for ``core.backoff``."""
    try:
        async with shared_session(base_url).post(url, data=body, headers=headers, timeout=timeout) as response:
            return response.status, dict(response.headers), await response.read()
    except aiohttp.ClientResponseError as error:  # an answer aiohttp could not take in: its status decides
        return error.status, dict(error.headers or {}), (error.message or "").encode()
    except aiohttp.ClientError as error:
        raise ChatConnectionError(f"{type(error).__name__}: {error}") from error
    except asyncio.TimeoutError as error:
        raise TimeoutError(f"no answer from {url} within {timeout.total:g}s") from error


async def close_shared_sessions() -> None:
    """Close the sessions of the running loop (call it from that loop when its work is done)."""
    loop = asyncio.get_running_loop()
    for key, (owner, session) in list(_sessions.items()):
        if owner is loop:
            _sessions.pop(key)
            await session.close()


class OpenAIChatRows:
    """Structured output from an OpenAI-compatible ``/chat/completions`` endpoint, one row at a time."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None,
        system_prompt: str,
        schema: dict[str, Any],
        schema_name: str,
        description: str | None,
        output_mode: str,
        max_retries: int,
        request_timeout: float,
        validator: OutputValidator,
        settings: dict[str, Any],
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.headers = {"Content-Type": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self.output_mode = output_mode
        self.max_retries = max_retries
        self.validator = validator
        self.timeout = aiohttp.ClientTimeout(total=request_timeout)
        if output_mode == "prompted":
            system_prompt = f"{system_prompt}\n\n{prompted_instructions(schema, description)}"
        head: dict[str, Any] = {"model": model}
        tail: dict[str, Any] = {"stream": False, **settings}
        if output_mode == "tool":
            function: dict[str, Any] = {"name": OUTPUT_TOOL, "parameters": schema}
            if description:
                function["description"] = description
            tail = {"tools": [{"type": "function", "function": function}], "tool_choice": "required", **tail}
        elif output_mode == "native":
            format_schema: dict[str, Any] = {"name": schema_name, "schema": schema}
            if description:
                format_schema["description"] = description
            tail = {"response_format": {"type": "json_schema", "json_schema": format_schema}, **tail}
        # The request as bytes around the messages: only the messages are serialised per request.
        self._head = json.dumps(head)[:-1].encode() + b', "messages": '
        self._tail = b", " + json.dumps(tail)[1:].encode()
        self._system = {"role": "system", "content": system_prompt}

    def body_for(self, messages: list[dict[str, Any]]) -> bytes:
        return self._head + json.dumps(messages, ensure_ascii=False).encode() + self._tail

    def first_messages(self, user_prompt: str) -> list[dict[str, Any]]:
        """The first request's messages: the system prompt and one row."""
        return [self._system, {"role": "user", "content": user_prompt}]

    async def run(self, user_prompt: str, tokens: TokenCount) -> dict[str, Any]:
        messages = self.first_messages(user_prompt)
        for reasks_left in range(self.max_retries, -1, -1):
            message = await self._complete(messages, tokens)
            raw, call_id = _answer_of(message)
            try:
                return self.validator.validate(raw)
            except AgentRowError as error:
                if reasks_left == 0:
                    raise
                problems = getattr(error, "errors", None) or [str(error)]
                messages = [*messages, *self._reask(message, call_id, problems)]
        raise AssertionError("unreachable")  # pragma: no cover

    def _reask(self, message: dict[str, Any], call_id: str | None, problems: list[str]) -> list[dict[str, Any]]:
        listed = "; ".join(problems[:MAX_PROBLEMS_IN_REASK])
        text = f"The output is not valid: {listed}. It must be one JSON object matching the output schema. {REASK_SUFFIX}"
        assistant = {"role": "assistant", "content": message.get("content")}
        if call_id is not None:
            assistant["tool_calls"] = message["tool_calls"][:1]
            return [assistant, {"role": "tool", "tool_call_id": call_id, "content": text}]
        return [assistant, {"role": "user", "content": text}]

    async def _complete(self, messages: list[dict[str, Any]], tokens: TokenCount) -> dict[str, Any]:
        status, headers, payload = await post_request(self.base_url, self.url, self.body_for(messages), self.headers,
                                                      self.timeout)
        if status >= 400:
            raise ChatHttpError(status, headers, payload.decode("utf-8", "replace"))
        try:
            answer = json.loads(payload)
            usage = answer.get("usage") or {}
            tokens.input_tokens += int(usage.get("prompt_tokens") or 0)
            tokens.output_tokens += int(usage.get("completion_tokens") or 0)
            return answer["choices"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as error:
            raise AgentRowError("Model output rejected", detail=f"not a chat completion: {payload[:200]!r}") from error


def prompted_instructions(schema: dict[str, Any], description: str | None) -> str:
    about = f" ({description})" if description else ""
    return ("Always respond with a JSON object that's compatible with this schema"
            f"{about}:\n\n{json.dumps(schema)}\n\nDon't include any text or Markdown fencing before or after.")
