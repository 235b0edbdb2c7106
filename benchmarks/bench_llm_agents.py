"""LLM agents against a local OpenAI-compatible server: rows/s at concurrency 50, and calls saved by dedup.

    python benchmarks/bench_llm_agents.py            # full: 1500 rows; dedup on 1000 rows
    python benchmarks/bench_llm_agents.py --small    # 300 rows; dedup on 200 rows

The server (tests/support/openai_stub_server.py) runs in its own process and answers every request after
200 ms, like a model would; the client is the real one (LlmAgent: pydantic-ai + the openai SDK over HTTP).
Ideal rows/s = concurrency / latency = 250; efficiency = measured / ideal.
Dedup: 30% of the rows repeat an earlier row; CachedAgentCall calls the model once per distinct row, and a
second batch over the same rows with a shared result store calls it not at all.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from airflow_provider_batchorch.core.result_cache import CachedAgentCall, LocalDirResultCache  # noqa: E402
from airflow_provider_batchorch.core.agent_spec import AgentSpec  # noqa: E402
from airflow_provider_batchorch.agents.llm_agent import LlmAgent  # noqa: E402

LATENCY = 0.2
CONCURRENCY = 50
DUPLICATE_SHARE = 0.3
STUB_SERVER = ROOT / "tests" / "support" / "openai_stub_server.py"
SCHEMA = {
    "type": "object",
    "properties": {
        "company_name": {"type": "string"},
        "industry": {"type": "string"},
        "employee_count": {"type": "integer", "minimum": 0},
        "confidence_score": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "required": ["company_name", "industry", "employee_count", "confidence_score"],
    "additionalProperties": False,
}


class StubServerProcess:
    """The stub server in a child process: it prints its base URL, and its request count when stdin closes."""

    def __enter__(self) -> "StubServerProcess":
        self.process = subprocess.Popen(
            [sys.executable, str(STUB_SERVER), "--latency", str(LATENCY)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().strip()
        if not self.base_url.startswith("http://127.0.0.1:"):
            self.process.kill()
            raise RuntimeError(f"stub server did not start: {self.base_url!r}")
        return self

    def stop(self) -> dict:
        """Stop the server; its request count and the CPU seconds it used."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        line = self.process.stdout.readline()
        self.process.wait(timeout=10)
        return json.loads(line)

    def __exit__(self, *exc_info: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def agent_spec(base_url: str) -> AgentSpec:
    return AgentSpec(
        name="bench-llm-agent",
        input_fields=[{"name": "company_name"}],
        output_schema=SCHEMA,
        prompt="Enrich the company.",
        invocation={"kind": "llm", "model": "stub-model", "base_url": base_url, "max_concurrency": CONCURRENCY},
    )


async def process(call, rows: list[dict], concurrency: int) -> list:
    """Like the worker: `concurrency` lanes take the next row; results stay in row order."""
    results: list = [None] * len(rows)
    next_index = iter(range(len(rows)))

    async def lane() -> None:
        for index in next_index:
            results[index] = await asyncio.wait_for(call(rows[index]), timeout=30)

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return results


def measure_throughput(rows_count: int) -> dict:
    rows = [{"company_name": f"Company {i}"} for i in range(rows_count)]
    async def warm_then_measure(agent: LlmAgent) -> tuple[list, float, float]:
        await process(agent, [{"company_name": "warm-up"}] * CONCURRENCY, CONCURRENCY)  # connections, caches
        started, cpu_started = time.perf_counter(), time.process_time()
        results = await process(agent, rows, CONCURRENCY)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        await agent.aclose()
        return results, elapsed, cpu

    with StubServerProcess() as server:
        results, elapsed, cpu = asyncio.run(warm_then_measure(LlmAgent(agent_spec(server.base_url))))
        served = server.stop()
    assert [r.output["company_name"] for r in results] == [r["company_name"] for r in rows]
    ideal = CONCURRENCY / LATENCY
    measured = rows_count / elapsed
    return {
        "rows": rows_count,
        "concurrency": CONCURRENCY,
        "latency_s": LATENCY,
        "seconds": round(elapsed, 2),
        "rows_per_s": round(measured, 1),
        "ideal_rows_per_s": round(ideal, 1),
        "efficiency": round(measured / ideal, 3),
        "client_cpu_ms_per_row": round(cpu / rows_count * 1000, 2),
        "server_cpu_ms_per_request": round(served["cpu_seconds"] / served["requests"] * 1000, 2),
        "requests_served": served["requests"] - CONCURRENCY,
    }


def rows_with_duplicates(rows_count: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    unique = rows_count - round(rows_count * DUPLICATE_SHARE)
    rows = [{"company_name": f"Company {i}"} for i in range(unique)]
    rows += [dict(rng.choice(rows[:unique])) for _ in range(rows_count - unique)]
    rng.shuffle(rows)
    return rows


def measure_dedup(rows_count: int) -> dict:
    rows = rows_with_duplicates(rows_count)
    distinct = len({row["company_name"] for row in rows})
    with StubServerProcess() as server, tempfile.TemporaryDirectory() as cache_dir:
        spec = agent_spec(server.base_url)
        agent = LlmAgent(spec)
        store = LocalDirResultCache(cache_dir)
        first = CachedAgentCall(agent, spec, store)
        second = CachedAgentCall(agent, spec, store)  # the next batch over the same CSV

        async def two_batches() -> tuple[list, float]:
            started = time.perf_counter()
            results = await process(first, rows, CONCURRENCY)
            seconds = time.perf_counter() - started
            await process(second, rows, CONCURRENCY)
            await agent.aclose()
            return results, seconds

        results, first_seconds = asyncio.run(two_batches())
        served = server.stop()["requests"]
    assert [r.output["company_name"] for r in results] == [r["company_name"] for r in rows]
    return {
        "rows": rows_count,
        "duplicate_rows": rows_count - distinct,
        "calls_made": first.stats.calls_made,
        "calls_saved": first.stats.calls_saved,
        "calls_saved_share": round(first.stats.calls_saved / rows_count, 3),
        "seconds": round(first_seconds, 2),
        "requests_served": served,
        "next_batch_calls_made": second.stats.calls_made,
        "next_batch_cache_hits": second.stats.cache_hits,
    }


def run(small: bool) -> dict:
    throughput = measure_throughput(300 if small else 1500)
    dedup = measure_dedup(200 if small else 1000)
    assert dedup["calls_made"] == dedup["rows"] - dedup["duplicate_rows"] == dedup["requests_served"]
    assert dedup["next_batch_calls_made"] == 0
    return {"benchmark": "llm_agents", "throughput": throughput, "dedup": dedup}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a quick run (CI)")
    print(json.dumps(run(parser.parse_args().small), indent=2))


if __name__ == "__main__":
    main()
