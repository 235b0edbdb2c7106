"""A local OpenAI-compatible server for tests and benchmarks: real HTTP on 127.0.0.1, scripted answers.

    with OpenAIStubServer(ScriptedResponder({"r1": [throttle(1), answer({...})]})) as server:
        ... base_url=server.base_url ...

``POST /v1/chat/completions`` answers like a chat model: when the request offers tools (pydantic-ai's output
tool) the answer is a call of the first tool with the reply's output as its arguments, otherwise it is the
message content (JSON-schema response format, or prompted output). A reply's ``output`` is JSON-encoded when it
is not a string; a string is sent exactly as it is (broken JSON, fenced JSON, prose).

The responder sees a ``StubRequest``: the request body, the row (the JSON between the row markers of the first
user message), the output schema the client sent, and the number of this row's earlier requests. The default
responder answers a schema-valid object built from that schema, echoing row values for fields of the same name.
Run as a script (``python tests/support/openai_stub_server.py --latency 0.2``) it prints its base URL and
serves until stdin closes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

ROW_BEGIN = "<<<ROW_DATA>>>"
ROW_END = "<<<END_ROW_DATA>>>"


@dataclass
class Reply:
    status: int = 200
    output: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    error_body: dict[str, Any] | None = None
    delay: float | None = None  # seconds, instead of the server's latency
    tool_calls: list[tuple[str, dict[str, Any]]] | None = None  # call these tools (a tool-using agent's turn)
    text: str | None = None  # answer this message content even when tools are offered
    usage: tuple[int, int] | None = None  # (prompt, completion) tokens to report; None: about 4 characters a token


def answer(output: Any, *, delay: float | None = None) -> Reply:
    return Reply(output=output, delay=delay)


def throttle(retry_after: float | str | None = 1, *, header: str = "Retry-After") -> Reply:
    headers = {header: str(retry_after)} if retry_after is not None else {}
    body = {"error": {"message": "Rate limit reached", "type": "rate_limit_error", "code": "rate_limit_exceeded"}}
    return Reply(status=429, headers=headers, error_body=body)


def server_error(status: int = 503) -> Reply:
    return Reply(status=status, error_body={"error": {"message": "Service unavailable", "type": "server_error"}})


@dataclass
class StubRequest:
    body: dict[str, Any]
    row: dict[str, Any] | None
    schema: dict[str, Any] | None
    attempt: int  # 1 for the first request about this row, 2 for the first re-ask or retry, ...
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])

    def text(self) -> str:
        return json.dumps(self.messages, ensure_ascii=False)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def row_of(body: dict[str, Any]) -> dict[str, Any] | None:
    for message in body.get("messages", []):
        if message.get("role") != "user":
            continue
        text = _content_text(message.get("content"))
        if ROW_BEGIN in text and ROW_END in text:
            block = text.split(ROW_BEGIN, 1)[1].split(ROW_END, 1)[0]
            try:
                return json.loads(block)
            except ValueError:
                return None
    return None


def schema_of(body: dict[str, Any]) -> dict[str, Any] | None:
    tools = body.get("tools") or []
    if tools:
        return tools[0].get("function", {}).get("parameters")
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        return response_format.get("json_schema", {}).get("schema")
    return None


def example_for(schema: dict[str, Any] | None, row: dict[str, Any] | None = None) -> Any:
    """A value that satisfies simple schemas (types, enums, required, min/max), echoing row values by name."""
    schema = schema or {}
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf"):
        if schema.get(combinator):
            return example_for(schema[combinator][0], row)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        result = {}
        for name, sub in (schema.get("properties") or {}).items():
            if row and name in row and isinstance(row[name], str) and sub.get("type") == "string" and not sub.get("enum"):
                result[name] = row[name]
            else:
                result[name] = example_for(sub, row)
        return result
    if kind == "array":
        return [example_for(schema.get("items") or {}, row) for _ in range(schema.get("minItems", 0))]
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
        return int(low) if kind == "integer" else float(low)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return "x" * max(1, schema.get("minLength", 1))


def valid_answer(request: StubRequest) -> Reply:
    return answer(example_for(request.schema, request.row))


class ScriptedResponder:
    """Per-row scripts: ``{key: [reply, reply, ...]}`` used in order, then ``default`` for that row."""

    def __init__(
        self,
        script: dict[str, list[Reply]] | None = None,
        *,
        key: Callable[[dict[str, Any]], str] = lambda row: str(row.get("id", "")),
        default: Callable[[StubRequest], Reply] = valid_answer,
    ) -> None:
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.key = key
        self.default = default
        self._lock = threading.Lock()

    def __call__(self, request: StubRequest) -> Reply:
        with self._lock:
            queue = self.script.get(self.key(request.row)) if request.row is not None else None
            if queue:
                return queue.pop(0)
        return self.default(request)


def _approx_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


class OpenAIStubServer:
    def __init__(
        self,
        responder: Callable[[StubRequest], Reply] | None = None,
        *,
        latency: float = 0.0,
        model: str = "stub-model",
    ) -> None:
        self.responder = responder or ScriptedResponder()
        self.latency = latency
        self.model = model
        self.requests: list[StubRequest] = []
        self.status_counts: dict[int, int] = {}
        self._per_row: dict[str, int] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def requests_for(self, key: str, field_name: str = "id") -> list[StubRequest]:
        return [r for r in self.requests if r.row is not None and str(r.row.get(field_name)) == key]

    def _register(self, body: dict[str, Any], headers: dict[str, str]) -> StubRequest:
        row = row_of(body)
        row_key = json.dumps(row, sort_keys=True)
        with self._lock:
            self._per_row[row_key] = self._per_row.get(row_key, 0) + 1
            attempt = self._per_row[row_key]
            request = StubRequest(body=body, row=row, schema=schema_of(body), attempt=attempt, headers=headers)
            self.requests.append(request)
        return request

    def _completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        output = reply.text if reply.text is not None else reply.output
        raw = output if isinstance(output, str) else json.dumps(output)
        message: dict[str, Any] = {"role": "assistant", "content": None}
        tools = body.get("tools") or []
        if reply.tool_calls:
            message["tool_calls"] = [{"id": f"call_{next(self._ids)}", "type": "function",
                                      "function": {"name": name, "arguments": json.dumps(arguments)}}
                                     for name, arguments in reply.tool_calls]
            finish = "tool_calls"
        elif tools and reply.text is None:
            call_id = f"call_{next(self._ids)}"
            name = tools[0]["function"]["name"]
            message["tool_calls"] = [{"id": call_id, "type": "function", "function": {"name": name, "arguments": raw}}]
            finish = "tool_calls"
        else:
            message["content"] = raw
            finish = "stop"
        prompt_tokens, completion_tokens = reply.usage or (_approx_tokens(json.dumps(body.get("messages", []))),
                                                            _approx_tokens(raw))
        return {
            "id": f"chatcmpl-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", self.model),
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
                with server._lock:
                    server.status_counts[status] = server.status_counts.get(status, 0) + 1

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                body = json.loads(raw or b"{}")
                request = server._register(body, {k.lower(): v for k, v in self.headers.items()})
                reply = server.responder(request)
                delay = server.latency if reply.delay is None else reply.delay
                if delay:
                    time.sleep(delay)
                if reply.status != 200:
                    self._send(reply.status, reply.error_body or {"error": {"message": "error"}}, reply.headers)
                    return
                self._send(200, server._completion(body, reply), reply.headers)

        return Handler

    def start(self) -> "OpenAIStubServer":
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(), bind_and_activate=False)
        httpd.daemon_threads = True
        httpd.request_queue_size = 256
        httpd.server_bind()
        httpd.server_activate()
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "OpenAIStubServer":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve schema-valid chat completions on 127.0.0.1 until stdin closes.")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    args = parser.parse_args(argv)
    with OpenAIStubServer(latency=args.latency) as server:
        print(server.base_url, flush=True)
        sys.stdin.read()  # the parent closes our stdin (or exits) to stop us
        print(json.dumps({"requests": len(server.requests), "cpu_seconds": round(time.process_time(), 3)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
