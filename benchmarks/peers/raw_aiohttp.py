"""The network's limit: asyncio + one aiohttp session, C requests in flight, a JSON Schema check of each answer.

The request is what pydantic-ai's OpenAI model sends for tool output (``peer_common.TOOLS``); the answer's
tool-call arguments are parsed and validated (jsonschema, compiled once).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import jsonschema

from peer_common import API_KEY, SCHEMA, in_lanes, measure, parse_args, tool_request


async def run(rows: list[dict[str, str]], base_url: str, concurrency: int) -> list[Any]:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    url = base_url.rstrip("/") + "/chat/completions"
    headers = {"Authorization": f"Bearer {API_KEY}"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def answer(row: dict[str, str]) -> Any:
            async with session.post(url, json=tool_request(row)) as response:
                body = await response.json()
            arguments = json.loads(body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])
            validator.validate(arguments)
            return arguments

        return await in_lanes(rows, concurrency, answer)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    measure(lambda rows: asyncio.run(run(rows, args.base_url, args.concurrency)), args)


if __name__ == "__main__":
    main()
