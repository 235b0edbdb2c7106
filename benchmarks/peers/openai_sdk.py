"""The openai SDK alone (its default httpx client), in the same loop as raw_aiohttp.py: C calls in flight."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import jsonschema
from openai import AsyncOpenAI

from peer_common import API_KEY, SCHEMA, in_lanes, measure, parse_args, tool_request


async def run(rows: list[dict[str, str]], base_url: str, concurrency: int) -> list[Any]:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    client = AsyncOpenAI(base_url=base_url, api_key=API_KEY, max_retries=0)

    async def answer(row: dict[str, str]) -> Any:
        completion = await client.chat.completions.create(**tool_request(row))
        arguments = json.loads(completion.choices[0].message.tool_calls[0].function.arguments)
        validator.validate(arguments)
        return arguments

    outputs = await in_lanes(rows, concurrency, answer)
    await client.close()
    return outputs


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    measure(lambda rows: asyncio.run(run(rows, args.base_url, args.concurrency)), args)


if __name__ == "__main__":
    main()
