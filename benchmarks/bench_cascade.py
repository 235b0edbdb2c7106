"""Cascade against the strong agent alone, measured in one run: calls, tokens, cost and time over the same rows.

    .venv/bin/python benchmarks/bench_cascade.py               # 1000 rows, the cheap model unsure on 20 %
    .venv/bin/python benchmarks/bench_cascade.py --rows 300 --unsure 0.3

One local OpenAI-compatible server (tests/support/openai_stub_server.py, real HTTP, 200 ms per request) plays
both models: ``gpt-4.1-nano`` (cheap, confidence 0.3 on the unsure rows, 0.9 on the others) and ``gpt-4.1``
(strong, with a longer prompt). Both runs go through the worker's real path: ``RowProcessor`` over
``compose_agent_call`` with each agent a ``CachedAgentCall`` around the real ``LlmAgent`` (pydantic-ai + the
openai SDK), concurrency 50, after a warm-up of both agents that is not counted. Cost: the price table (core/cost_estimate.py) over the tokens the server reported.
Also printed: how close the cascade's own estimate of "strong on every row" (``strong_only_cost_usd``, which prices
the cheap agent's tokens on the kept rows at the strong model's prices) comes to the strong-only run's real cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from airflow_provider_batchorch.agents.kinds import build_agent_call  # noqa: E402
from airflow_provider_batchorch.core.agent_spec import AgentSpec  # noqa: E402
from airflow_provider_batchorch.core.cascade_call import compose_agent_call  # noqa: E402
from airflow_provider_batchorch.core.cascade_tally import cascade_report  # noqa: E402
from airflow_provider_batchorch.core.cost_estimate import DEFAULT_PRICES  # noqa: E402
from airflow_provider_batchorch.core.models import BatchConfig  # noqa: E402
from airflow_provider_batchorch.core.result_cache import CachedAgentCall  # noqa: E402
from airflow_provider_batchorch.core.row_processing import RowProcessor  # noqa: E402
from tests.support.openai_stub_server import OpenAIStubServer, StubRequest, answer  # noqa: E402

CHEAP, STRONG = "gpt-4.1-nano", "gpt-4.1"
LATENCY, CONCURRENCY = 0.2, 50
SCHEMA = {"type": "object", "properties": {"label": {"type": "string"}, "confidence_score": {"type": "number"}},
          "required": ["label", "confidence_score"]}


def specs(base_url: str) -> tuple[AgentSpec, AgentSpec]:
    def llm(model: str) -> dict:
        return {"kind": "llm", "model": model, "base_url": base_url, "max_attempts": 1, "max_concurrency": 200}

    strong = AgentSpec(name="strong", input_fields=[{"name": "id"}, {"name": "text"}], output_schema=SCHEMA,
                       prompt="Label the text. Think carefully about ambiguous wording, sarcasm and negation "
                       "before you answer, and give a calibrated confidence.", invocation=llm(STRONG))
    cheap = AgentSpec(name="cheap", input_fields=[{"name": "id"}, {"name": "text"}], output_schema=SCHEMA,
                      prompt="Label the text.", invocation=llm(CHEAP), escalate_to="strong",
                      escalate_when={"confidence_below": 0.6}, escalation_agent=strong)
    return cheap, strong


def config(spec: AgentSpec, rows: int) -> BatchConfig:
    return BatchConfig(batch_id=f"bench-{uuid.uuid4().hex[:6]}", csv_uri="s3://b/in.csv", encoding="utf-8",
                       delimiter=",", columns=["id", "text"], agent=spec, input_mapping={"id": "id", "text": "text"},
                       output_fields=["label", "confidence_score"], concurrency=CONCURRENCY, chunk_concurrency=1,
                       row_concurrency=CONCURRENCY, timeout_seconds=60, total_rows=rows, chunk_count=1,
                       prefix_uri="s3://b/p/", output_uri="s3://b/p/out.csv")


def run(spec: AgentSpec, rows: list[dict[str, str]]):
    agents = []

    def build(agent: AgentSpec):
        agents.append(build_agent_call(agent))
        return CachedAgentCall(agents[-1], agent)

    async def process():
        try:
            return await RowProcessor(config(spec, len(rows)), compose_agent_call(spec, build)).process_chunk(rows)
        finally:
            for agent in agents:
                await agent.aclose()

    started = time.perf_counter()
    outcome = asyncio.run(process())
    return outcome, time.perf_counter() - started


def usd(model: str, input_tokens: int, output_tokens: int) -> float:
    price = DEFAULT_PRICES[model]
    return (input_tokens * price.input_per_million + output_tokens * price.output_per_million) / 1_000_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--unsure", type=float, default=0.2, help="share of rows the cheap model is unsure of")
    args = parser.parse_args(argv)
    every = round(1 / args.unsure)
    unsure = {str(i) for i in range(1, args.rows + 1) if i % every == 0}

    def reply(request: StubRequest):
        row_id = str(request.row["id"])
        if request.body["model"] == STRONG:
            return answer({"label": f"strong label for row {row_id}", "confidence_score": 0.97})
        return answer({"label": f"cheap label for row {row_id}", "confidence_score": 0.3 if row_id in unsure else 0.9})

    rows = [{"id": str(i), "text": f"review number {i}: the product arrived and it works as described"}
            for i in range(1, args.rows + 1)]
    with OpenAIStubServer(reply, latency=LATENCY) as server:
        cheap, strong = specs(server.base_url)
        warm = [{"id": f"warm-{i}", "text": "warm-up"} for i in range(CONCURRENCY)]
        run(strong, warm), run(cheap, warm)  # imports, clients and connections: not part of either figure
        before = len(server.requests)
        alone, alone_seconds = run(strong, rows)
        alone_requests = len(server.requests) - before
        cascade, cascade_seconds = run(cheap, rows)
        cascade_requests = len(server.requests) - before - alone_requests
    report = cascade_report(cheap, cascade.cascade)
    alone_cost = usd(STRONG, alone.input_tokens, alone.output_tokens)
    result = {
        "rows": args.rows, "unsure_rows": len(unsure), "escalated": report.rows_escalated,
        "requests": {"strong_alone": alone_requests, "cascade": cascade_requests},
        "seconds": {"strong_alone": round(alone_seconds, 2), "cascade": round(cascade_seconds, 2)},
        "cost_usd": {"strong_alone": round(alone_cost, 6), "cascade": report.cost_usd,
                     "cascade_estimate_of_strong_alone": report.strong_only_cost_usd},
        "ratios_cascade_to_strong_alone": {
            "strong_calls": round(cascade.cascade.strong_calls / alone_requests, 3),
            "all_calls": round(cascade_requests / alone_requests, 3),
            "cost": round(report.cost_usd / alone_cost, 3),
            "seconds": round(cascade_seconds / alone_seconds, 3)},
        "estimate_of_strong_alone_to_measured": round(report.strong_only_cost_usd / alone_cost, 3),
        "rows_back_in_order": len(cascade.rows) == len(alone.rows) == args.rows,
        "failed": {"strong_alone": alone.failed, "cascade": cascade.failed},
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
