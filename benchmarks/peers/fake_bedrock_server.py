"""A fake Amazon Bedrock Converse server: fixed latency, a schema-valid structured answer, scripted faults.

    python benchmarks/peers/fake_bedrock_server.py --latency 0.2     # prints its endpoint URL, serves until stdin closes

``POST /model/{modelId}/converse`` answers what the real service answers to boto3's ``converse`` (and to a
SigV4-signed request over any HTTP client; the signature is not checked) after ``--latency`` seconds:
- when ``toolConfig`` offers tools, the answer is a ``toolUse`` of the tool that ``toolChoice`` names (else the
  first), whose ``input`` fills that tool's ``inputSchema.json``; otherwise one text block with that JSON object
  (prompted output) built from the schema in the system prompt's text, or the benchmark's schema;
- arguments are built from the schema's properties: ``row_id`` echoes the first ``ROW-<digits>`` of the request
  (so the caller can check order), strings ``"label"``, numbers ``0.5``, integers ``1``, booleans ``true``, arrays
  ``[]``, enums their first value;
- usage: 50 input and 10 output tokens per request.

In a test, ``FakeBedrockServer(latency, script=...)`` serves in a thread; ``script`` maps a ``ROW-<digits>`` to the
replies of that row's requests in order (``"ok"``, ``"violation"``: a value outside the schema, ``"throttle"``: 429
``ThrottlingException``, ``"invalid"``: 400 ``ValidationException``, ``"unavailable"``: 503
``ServiceUnavailableException``); ``requests`` and ``paths`` hold every request's body and raw
path, ``signed`` its (raw path, headers, raw body), to check the SigV4 signature with. ``GET /stats``: requests and server CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import threading
from pathlib import Path
from typing import Any

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_openai_server import DEFAULT_SCHEMA, object_for, read_request  # noqa: E402  (the same answers as the OpenAI fake)

FAULTS = {
    "throttle": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
    "invalid": (400, "ValidationException", "The provided model identifier is invalid."),
    "unavailable": (503, "ServiceUnavailableException", "The service is temporarily unavailable."),
}


def tool_to_use(body: dict[str, Any]) -> dict[str, Any] | None:
    config = body.get("toolConfig") or {}
    tools = [tool["toolSpec"] for tool in config.get("tools") or [] if "toolSpec" in tool]
    if not tools:
        return None
    wanted = ((config.get("toolChoice") or {}).get("tool") or {}).get("name")
    return next((tool for tool in tools if tool.get("name") == wanted), tools[0])


def violating(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer with its first property replaced by a value no schema of this benchmark allows (a nested list)."""
    first = next(iter(answer), "row_id")
    return {**answer, first: [["not", "allowed"]]}


class FakeBedrock:
    def __init__(self, latency: float, script: dict[str, list[str]] | None = None) -> None:
        self.latency = latency
        self.script = {row: list(replies) for row, replies in (script or {}).items()}
        self.record = bool(script)
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.signed: list[tuple[str, dict[str, str], bytes]] = []
        self.count = 0

    def reply_for(self, row_id: str) -> str:
        replies = self.script.get(row_id)
        return replies.pop(0) if replies else "ok"

    async def converse(self, request: web.Request) -> web.Response:
        raw, body, row_id = await read_request(request)
        self.count += 1
        if self.record:
            self.requests.append(body)
            self.paths.append(request.raw_path)
            self.signed.append((request.raw_path, dict(request.headers), raw))
        reply = self.reply_for(row_id) if self.script else "ok"
        await asyncio.sleep(self.latency)
        if reply in FAULTS:
            status, code, message = FAULTS[reply]
            return web.Response(status=status, body=json.dumps({"message": message}).encode(),
                                content_type="application/json", headers={"x-amzn-ErrorType": f"{code}:http://internal"})
        tool = tool_to_use(body)
        if tool is not None:
            arguments = object_for((tool.get("inputSchema") or {}).get("json") or {}, row_id)
            if reply == "violation":
                arguments = violating(arguments)
            content = [{"toolUse": {"toolUseId": f"tooluse_{self.count}", "name": tool["name"], "input": arguments}}]
            stop = "tool_use"
        else:
            arguments = object_for(DEFAULT_SCHEMA, row_id)
            content = [{"text": json.dumps(violating(arguments) if reply == "violation" else arguments)}]
            stop = "end_turn"
        answer = {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": stop,
            "usage": {"inputTokens": 50, "outputTokens": 10, "totalTokens": 60},
            "metrics": {"latencyMs": int(self.latency * 1000)},
        }
        return web.Response(body=json.dumps(answer).encode(), content_type="application/json")

    def stats(self) -> dict[str, Any]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {"requests": self.count, "cpu_seconds": usage.ru_utime + usage.ru_stime}

    async def stats_handler(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/model/{model_id}/converse", self.converse)
        app.router.add_get("/stats", self.stats_handler)
        return app


async def start(server: FakeBedrock, port: int = 0) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(server.app(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=4096)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


class FakeBedrockServer(FakeBedrock):
    """The fake server on its own event loop in a daemon thread: ``with FakeBedrockServer(0.0) as server: server.url``."""

    url = ""

    def __enter__(self) -> "FakeBedrockServer":
        self.record = True
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            self._runner, self.url = self._loop.run_until_complete(start(self))
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


async def serve(latency: float, port: int) -> None:
    """Serve until stdin closes, then print the stats (the benchmark's child-process protocol)."""
    server = FakeBedrock(latency)
    runner, url = await start(server, port)
    print(url, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    print(json.dumps(server.stats()), flush=True)
    await runner.cleanup()


if __name__ == "__main__":
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--latency", type=float, default=0.2)
    options.add_argument("--port", type=int, default=0)
    parsed = options.parse_args()
    asyncio.run(serve(parsed.latency, parsed.port))
