"""What every peer runner of benchmarks/bench_llm_peers.py shares (standard library only: each peer has its venv).

A runner is started as ``python <runner>.py --csv ROWS.csv --base-url URL --concurrency C --output OUT.jsonl``;
it writes one JSON object per input row, in input order (``null`` for a row that failed), and prints one JSON
line: rows, seconds of its processing loop, rows/s, and the CPU seconds the process spent in that loop.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

PROMPT = "Classify the company described below. Answer its row_id (copied as it is), a label and a score."
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"row_id": {"type": "string"}, "label": {"type": "string"}, "score": {"type": "number"}},
    "required": ["row_id", "label", "score"],
    "additionalProperties": False,
}
API_KEY = "sk-fake-benchmark-key"
MODEL = "fake-model"
# What pydantic-ai's OpenAI model sends for tool output: one function tool with the schema, ``tool_choice: required``.
TOOLS = [
    {
        "type": "function",
        "function": {"name": "final_result", "description": "The final response", "parameters": SCHEMA, "strict": True},
    }
]


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--csv", required=True, type=Path)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--concurrency", required=True, type=int)
    parser.add_argument("--output", required=True, type=Path)
    return parser.parse_args()


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def user_prompt(row: dict[str, str]) -> str:
    return f"{PROMPT}\n\n{row['text']}"


def tool_request(row: dict[str, str]) -> dict[str, Any]:
    """The chat-completions request body for one row (see ``TOOLS``)."""
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": user_prompt(row)}],
        "tools": TOOLS,
        "tool_choice": "required",
    }


async def in_lanes(rows: list[dict[str, str]], concurrency: int,
                   answer: Callable[[dict[str, str]], Awaitable[Any]]) -> list[Any]:
    """``answer`` of every row, in input order: ``concurrency`` lanes, each taking the next row when it is free."""
    outputs: list[Any] = [None] * len(rows)
    next_index = iter(range(len(rows)))

    async def lane() -> None:
        for index in next_index:
            outputs[index] = await answer(rows[index])

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return outputs


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(process: Callable[[list[dict[str, str]]], list[Any]], args: argparse.Namespace, **extra: Any) -> None:
    """Time ``process`` over the CSV's rows, write the outputs and print the runner's JSON line."""
    rows = read_rows(args.csv)
    started, cpu_started = time.perf_counter(), cpu_seconds()
    outputs = process(rows)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    with args.output.open("w", encoding="utf-8") as handle:
        for output in outputs:
            handle.write(json.dumps(output) + "\n")
    line = {
        "rows": len(rows),
        "seconds": round(seconds, 3),
        "rows_per_s": round(len(rows) / seconds, 1),
        "loop_cpu_seconds": round(cpu, 3),
        **extra,
    }
    print(json.dumps(line), flush=True)
    sys.stdout.flush()
