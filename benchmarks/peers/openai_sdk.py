"""The openai SDK alone (its default httpx client), in the same loop as raw_aiohttp.py: C calls in flight."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import jsonschema
from openai import AsyncOpenAI

from peer_common import API_KEY, MODEL, SCHEMA, measure, parse_args, user_prompt
from raw_aiohttp import TOOLS


async def run(rows: list[dict[str, str]], base_url: str, concurrency: int) -> list[Any]:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    outputs: list[Any] = [None] * len(rows)
    next_index = iter(range(len(rows)))
    client = AsyncOpenAI(base_url=base_url, api_key=API_KEY, max_retries=0)

    async def lane() -> None:
        for index in next_index:
            completion = await client.chat.completions.create(
                model=MODEL,
                messages=[{"role": "user", "content": user_prompt(rows[index])}],
                tools=TOOLS,
                tool_choice="required",
            )
            arguments = json.loads(completion.choices[0].message.tool_calls[0].function.arguments)
            validator.validate(arguments)
            outputs[index] = arguments

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    await client.close()
    return outputs


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    measure(lambda rows: asyncio.run(run(rows, args.base_url, args.concurrency)), args)


if __name__ == "__main__":
    main()
