"""The network's limit: asyncio + one aiohttp session, C requests in flight, a JSON Schema check of each answer.

The request is what pydantic-ai's OpenAI model sends for tool output (one function tool with the schema,
``tool_choice: required``); the answer's tool-call arguments are parsed and validated (jsonschema, compiled once).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import jsonschema

from peer_common import API_KEY, MODEL, SCHEMA, measure, parse_args, user_prompt

TOOLS = [
    {
        "type": "function",
        "function": {"name": "final_result", "description": "The final response", "parameters": SCHEMA, "strict": True},
    }
]


async def run(rows: list[dict[str, str]], base_url: str, concurrency: int) -> list[Any]:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    outputs: list[Any] = [None] * len(rows)
    next_index = iter(range(len(rows)))
    url = base_url.rstrip("/") + "/chat/completions"
    headers = {"Authorization": f"Bearer {API_KEY}"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def lane() -> None:
            for index in next_index:
                body = {
                    "model": MODEL,
                    "messages": [{"role": "user", "content": user_prompt(rows[index])}],
                    "tools": TOOLS,
                    "tool_choice": "required",
                }
                async with session.post(url, json=body) as response:
                    answer = await response.json()
                arguments = json.loads(answer["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])
                validator.validate(arguments)
                outputs[index] = arguments

        await asyncio.gather(*(lane() for _ in range(concurrency)))
    return outputs


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    measure(lambda rows: asyncio.run(run(rows, args.base_url, args.concurrency)), args)


if __name__ == "__main__":
    main()
