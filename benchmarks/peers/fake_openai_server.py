"""A fake OpenAI-compatible chat server for the peer benchmark: fixed latency, a schema-valid structured answer.

    python benchmarks/peers/fake_openai_server.py --latency 0.2     # prints its base URL, serves until stdin closes

``POST /v1/chat/completions`` (also ``/chat/completions``) answers after ``--latency`` seconds, with as little
CPU as it can (one ``json.loads``, one regex, one ``json.dumps``):
- when the request offers tools (pydantic-ai's output tool with ``tool_choice``, DocETL's ``send_output``, an
  agent's own tools) the answer is a call of the tool that ``tool_choice`` names, or else of the first tool, whose
  arguments fill that tool's parameter schema;
- with ``response_format`` ``json_schema`` the content is an object of that schema, with ``json_object`` an object
  of the benchmark's schema; otherwise the content is that same JSON text (prompted output).
Arguments are built from the schema's properties: a field named ``row_id`` echoes the first ``ROW-<digits>`` of the
messages (so the caller can check order), strings get ``"label"``, numbers ``0.5``, integers ``1``, booleans
``true``, arrays ``[]``, enums their first value.
``GET /stats`` returns the requests answered and the server's user+sys CPU seconds; closing stdin prints them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import sys
import threading
import time
from typing import Any

from aiohttp import web

ROW_ID = re.compile(rb"ROW-\d+")
DEFAULT_SCHEMA = {
    "type": "object",
    "properties": {"row_id": {"type": "string"}, "label": {"type": "string"}, "score": {"type": "number"}},
    "required": ["row_id", "label", "score"],
    "additionalProperties": False,
}


def value_for(name: str, schema: dict[str, Any], row_id: str) -> Any:
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if name == "row_id":
        return row_id
    if kind == "object":
        return object_for(schema, row_id)
    return {"number": 0.5, "integer": 1, "boolean": True, "array": []}.get(kind, "label")


async def read_request(request: web.Request) -> tuple[bytes, dict[str, Any], str]:
    """The request's bytes, its JSON body and the row id it carries ("" when none): the answer echoes the id, so
    that order can be checked."""
    raw = await request.read()
    match = ROW_ID.search(raw)
    return raw, json.loads(raw), match.group().decode() if match else ""


def object_for(schema: dict[str, Any], row_id: str) -> dict[str, Any]:
    properties = schema.get("properties") or DEFAULT_SCHEMA["properties"]
    return {name: value_for(name, sub, row_id) for name, sub in properties.items()}


def tool_to_call(body: dict[str, Any]) -> dict[str, Any] | None:
    tools = body.get("tools") or []
    if not tools:
        return None
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        wanted = (choice.get("function") or {}).get("name")
        for tool in tools:
            if tool.get("function", {}).get("name") == wanted:
                return tool
    return tools[0]


class FakeServer:
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.requests = 0

    async def chat(self, request: web.Request) -> web.Response:
        _, body, row_id = await read_request(request)
        self.requests += 1
        message: dict[str, Any] = {"role": "assistant", "content": None}
        finish = "stop"
        tool = tool_to_call(body)
        if tool is not None:
            function = tool.get("function", {})
            arguments = object_for(function.get("parameters") or {}, row_id)
            message["tool_calls"] = [
                {
                    "id": f"call_{self.requests}",
                    "type": "function",
                    "function": {"name": function.get("name", "final_result"), "arguments": json.dumps(arguments)},
                }
            ]
            finish = "tool_calls"
        else:
            response_format = body.get("response_format") or {}
            schema = (response_format.get("json_schema") or {}).get("schema") or DEFAULT_SCHEMA
            message["content"] = json.dumps(object_for(schema, row_id))
        answer = {
            "id": f"chatcmpl-{self.requests}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake-model"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60},
        }
        await asyncio.sleep(self.latency)
        return web.Response(body=json.dumps(answer).encode(), content_type="application/json")

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "fake-model", "object": "model"}]})

    def stats(self) -> dict[str, Any]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {"requests": self.requests, "cpu_seconds": usage.ru_utime + usage.ru_stime}

    async def stats_handler(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())


async def serve(latency: float, port: int) -> None:
    server = FakeServer(latency)
    app = web.Application(client_max_size=16 * 1024 * 1024)
    for path in ("/v1/chat/completions", "/chat/completions"):
        app.router.add_post(path, server.chat)
    app.router.add_get("/v1/models", server.models)
    app.router.add_get("/stats", server.stats_handler)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=4096)
    await site.start()
    bound = runner.addresses[0][1]
    print(f"http://127.0.0.1:{bound}/v1", flush=True)
    stdin_closed = asyncio.get_running_loop().create_future()
    loop = asyncio.get_running_loop()

    def wait_for_stdin() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stdin_closed.set_result, None)

    threading.Thread(target=wait_for_stdin, daemon=True).start()
    await stdin_closed
    print(json.dumps(server.stats()), flush=True)
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve(args.latency, args.port))


if __name__ == "__main__":
    main()
