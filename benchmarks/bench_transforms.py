"""The row processor's cost of transformation rules: rows/s without rules (the baseline) and with a rule of each
kind, same rows, same agent (the test echo agent, answers at once), same process, measured one after the other.

    python benchmarks/bench_transforms.py --rows 20000

Each variant runs ``--repeat`` times (best kept); ``run(rows)`` returns the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow_provider_batchorch.core.agent_call import AgentResult  # noqa: E402
from airflow_provider_batchorch.core.configure import build_batch_config  # noqa: E402
from airflow_provider_batchorch.core.models import BatchRequest, CsvProfile  # noqa: E402
from airflow_provider_batchorch.core.row_processing import RowProcessor  # noqa: E402
from tests.support.agents import echo, spec  # noqa: E402

COLUMNS = ["first", "last", "profile", "country", "amount"]
INPUT = [{"kind": "concat", "columns": ["first", "last"], "into": "name"},
         {"kind": "jsonpath", "column": "profile", "path": "$.address.city", "into": "city", "default": "?"},
         {"kind": "static", "value": "EMEA", "into": "region"},
         {"kind": "cast", "column": "amount", "to": "integer"}]
VARIANTS = {
    "no rules (baseline)": {"input_mapping": {"text": "first"}},
    "format template + concat/jsonpath/static/cast": {"transforms": {"input": [
        *INPUT, {"kind": "template", "template": "{name} from {city} ({region}, {amount})", "into": "text"}]}},
    "jinja template + the same": {"transforms": {"input": [
        *INPUT, {"kind": "template", "engine": "jinja", "template": "{{ name | upper }} from {{ city }}", "into": "text"}]}},
    "all of it + filter + output rules": {"transforms": {
        "input": [*INPUT, {"kind": "template", "template": "{name} from {city}", "into": "text"}],
        "filter": "country != 'XX'",
        "output": {"derived": [{"into": "label", "template": "{upper} ({length})"}, {"into": "big", "expression": "length > 10"}],
                   "cast": {"big": "integer"}, "keep": ["upper", "label", "big"], "rename": {"upper": "shout"}}}},
}


def _rows(n: int) -> list[dict[str, str]]:
    return [{"first": f"Zoë{i}", "last": "O'Brien" if i % 3 else "", "profile": json.dumps({"address": {"city": "Köln"}})
             if i % 5 else "{}", "country": "DE", "amount": f"{i:,}"} for i in range(n)]


def _config(variant: dict, rows: int):
    profile = CsvProfile(uri="s3://b/in.csv", size_bytes=1, columns=COLUMNS, data_types={c: "string" for c in COLUMNS},
                         row_count=rows, header_end=1, chunk_rows=rows)
    request = BatchRequest(csv_uri="s3://b/in.csv", agent="test-echo-agent", concurrency=1, **variant)
    return build_batch_config(request, profile, spec(), batch_id="bench", prefix_uri="s3://b/runs/bench/")


async def _call(inputs):
    return AgentResult(echo(inputs))


def _measure(variant: dict, rows: list[dict[str, str]], repeat: int) -> float:
    processor = RowProcessor(_config(variant, len(rows)), _call)
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        outcome = asyncio.run(processor.process_chunk(rows))
        best = min(best, time.perf_counter() - started)
        assert outcome.failed == 0, outcome.failure_reasons
    return len(rows) / best


def run(rows: int, repeat: int = 3) -> dict[str, dict[str, float]]:
    data = _rows(rows)
    rates = {name: _measure(variant, data, repeat) for name, variant in VARIANTS.items()}
    base = rates["no rules (baseline)"]
    return {name: {"rows_per_s": round(rate), "vs_baseline": round(rate / base, 2)} for name, rate in rates.items()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for name, figures in run(args.rows, args.repeat).items():
        print(f"| {name} | {figures['rows_per_s']:,} | {figures['vs_baseline']:.2f} |")
