"""A tool-using model's turns, scripted, for ``OpenAIStubServer``: each chat-completion request takes the next
step of the script, a tool call or an answer, and a step may read what the tools really returned.

    script = ToolScript()
    script.add(call("analyze_csv_structure", csv_uri=uri),
               lambda r: say(f"{result(r, 'analyze_csv_structure')['row_count']} rows"))
    with OpenAIStubServer(script) as server: ...

A ``Repeat(step)`` stays at the head of the script while its step answers (``None`` moves on): a model polling
``monitor_batch_execution`` until ``done``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from tests.support.openai_stub_server import OpenAIStubServer, Reply, StubRequest

Step = Callable[[StubRequest], Reply | None] | Reply


def call(name: str, **arguments: Any) -> Reply:
    return Reply(tool_calls=[(name, arguments)])


def say(text: str) -> Reply:
    return Reply(text=text)


def results(request: StubRequest) -> dict[str, Any]:
    """The latest result of each tool in the conversation so far (JSON-decoded), by tool name."""
    names: dict[str, str] = {}
    latest: dict[str, Any] = {}
    for message in request.messages:
        for tool_call in message.get("tool_calls") or []:
            names[tool_call["id"]] = tool_call["function"]["name"]
        if message.get("role") == "tool":
            content = message.get("content")
            try:
                latest[names.get(message.get("tool_call_id"), "?")] = json.loads(content)
            except (TypeError, ValueError):
                latest[names.get(message.get("tool_call_id"), "?")] = content
    return latest


def result(request: StubRequest, tool: str) -> Any:
    return results(request)[tool]


def last_user_text(request: StubRequest) -> str:
    for message in reversed(request.messages):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


def arns_in(text: str) -> list[str]:
    return re.findall(r"arn:aws:states:[^\s,]+", text)


class Repeat:
    def __init__(self, step: Callable[[StubRequest], Reply | None]) -> None:
        self.step = step


def monitor_until_done(arn: Callable[[StubRequest], str], *, interval: float = 2.0) -> Repeat:
    def step(request: StubRequest) -> Reply | None:
        progress = results(request).get("monitor_batch_execution")
        if not isinstance(progress, dict) or progress.get("execution_arn") != arn(request):
            progress = None  # an earlier batch's, from the conversation's history
        if progress is not None and progress.get("done"):
            return None
        if progress is not None:
            time.sleep(interval)
        return call("monitor_batch_execution", execution_arn=arn(request))

    return Repeat(step)


class ToolScript:
    def __init__(self) -> None:
        self.steps: deque[Step | Repeat] = deque()
        self.seen: list[StubRequest] = []
        self._lock = threading.Lock()

    def add(self, *steps: Step | Repeat) -> "ToolScript":
        self.steps.extend(steps)
        return self

    def __call__(self, request: StubRequest) -> Reply:
        with self._lock:
            self.seen.append(request)
            while self.steps:
                step = self.steps[0]
                if isinstance(step, Repeat):
                    reply = step.step(request)
                    if reply is None:
                        self.steps.popleft()
                        continue
                    return reply
                self.steps.popleft()
                reply = step(request) if callable(step) else step
                if reply is not None:
                    return reply
        return Reply(status=500, error_body={"error": {"message": "the script has no step left"}})


@contextmanager
def scripted_pydanticai_connection(monkeypatch) -> Iterator["ToolScript"]:
    """A ToolScript behind a stub server, configured as the ``pydanticai_default`` connection the chat DAG looks for."""
    script = ToolScript()
    with OpenAIStubServer(script) as server:
        monkeypatch.delenv("BATCHORCH_CHAT_LLM_CONN_ID", raising=False)
        monkeypatch.setenv("AIRFLOW_CONN_PYDANTICAI_DEFAULT", json.dumps(
            {"conn_type": "pydanticai", "host": server.base_url, "extra": {"model": "scripted-orchestrator"}}))
        yield script
