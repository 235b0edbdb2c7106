"""Bedrock LLM agents against a fake Converse server: rows/s, efficiency and CPU a row, next to the raw clients.

    python benchmarks/bench_bedrock_agent.py                     # C=50 (1000 rows) and C=200 (2000 rows), 0.2 s
    python benchmarks/bench_bedrock_agent.py --rows 500 --concurrency 50

The server (benchmarks/peers/fake_bedrock_server.py) runs in its own process and answers every Converse request
after ``--latency`` seconds with a ``toolUse`` of the output tool. Every system runs in a fresh process of its own,
with fake AWS credentials, over real HTTP to that server:

- ``boto3 threads``: what a user would write: one boto3 ``bedrock-runtime`` client, ``converse`` in a thread pool
  of C, each answer checked against the schema (jsonschema);
- ``aiohttp + SigV4``: the physical limit: one asyncio loop, one aiohttp session, each request signed with
  botocore's ``SigV4Auth``, C in flight, each answer checked;
- ``LlmAgent via pydantic-ai``: our agent with ``BATCHORCH_LLM_VIA_PYDANTIC_AI=1`` (pydantic-ai's
  ``BedrockConverseModel`` over boto3, in a worker thread per request);
- ``LlmAgent``: our agent as a worker runs it (``bedrock:`` models over ``agents.bedrock_converse``).

Efficiency = rows/s / (C / latency); CPU ms a row = the process's CPU over the processing loop / rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Awaitable, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks" / "peers"))

from peer_common import PROMPT, SCHEMA, cpu_seconds, in_lanes  # noqa: E402  (the peer benchmark's task and schema)

SERVER = ROOT / "benchmarks" / "peers" / "fake_bedrock_server.py"
MODEL_ID = "anthropic.claude-3-5-haiku-20241022-v1:0"
REGION = "us-east-1"
SYSTEMS = {
    "boto3-threads": "boto3 converse, thread pool of C",
    "aiohttp-sigv4": "aiohttp + SigV4 (limit)",
    "llm-agent-pydantic-ai": "LlmAgent via pydantic-ai",
    "llm-agent": "LlmAgent (batchorch)",
}
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIAFAKEBENCHMARK",
    "AWS_SECRET_ACCESS_KEY": "fake-secret",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}


def rows_of(count: int) -> list[dict[str, str]]:
    return [{"row_id": f"ROW-{i:06d}", "text": f"Company {i} sells tools and services to retailers."}
            for i in range(count)]


def converse_params(row: dict[str, str]) -> dict[str, Any]:
    """What pydantic-ai's Bedrock model sends for tool output: the system prompt, one user turn, the output tool."""
    return {
        "modelId": MODEL_ID,
        "system": [{"text": PROMPT}],
        "messages": [{"role": "user", "content": [{"text": json.dumps(row)}]}],
        "inferenceConfig": {},
        "toolConfig": {"tools": [{"toolSpec": {"name": "final_result", "description": "The final response",
                                               "inputSchema": {"json": SCHEMA}}}], "toolChoice": {"any": {}}},
    }


def tool_input(answer: dict[str, Any]) -> Any:
    return answer["output"]["message"]["content"][0]["toolUse"]["input"]


def counted(answer: Callable[[dict[str, str]], Awaitable[Any]]) -> Callable[[dict[str, str]], Awaitable[Any]]:
    """``answer`` with a failed row kept as ``{"_error": ...}``: counted in the table, not hidden."""

    async def guarded(row: dict[str, str]) -> Any:
        try:
            return await answer(row)
        except Exception as error:
            return {"_error": f"{type(error).__name__}: {error}"[:300]}

    return guarded


def run_boto3_threads(rows: list[dict[str, str]], url: str, concurrency: int) -> Callable[[], list[Any]]:
    import boto3
    import jsonschema
    from botocore.config import Config

    validator = jsonschema.Draft202012Validator(SCHEMA)
    config = Config(retries={"mode": "standard", "total_max_attempts": 1}, max_pool_connections=concurrency)
    client = boto3.client("bedrock-runtime", region_name=REGION, endpoint_url=url, config=config)

    def answer(row: dict[str, str]) -> Any:
        output = tool_input(client.converse(**converse_params(row)))
        validator.validate(output)
        return output

    def process() -> list[Any]:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            return list(pool.map(answer, rows))

    return process


def run_aiohttp_sigv4(rows: list[dict[str, str]], url: str, concurrency: int) -> Callable[[], list[Any]]:
    import aiohttp
    import botocore.session
    import jsonschema
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    validator = jsonschema.Draft202012Validator(SCHEMA)
    credentials = botocore.session.get_session().get_credentials()
    signer = SigV4Auth(credentials, "bedrock", REGION)
    endpoint = f"{url}/model/{MODEL_ID.replace(':', '%3A')}/converse"

    async def run() -> list[Any]:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

            async def answer(row: dict[str, str]) -> Any:
                params = converse_params(row)
                params.pop("modelId")
                request = AWSRequest("POST", endpoint, data=json.dumps(params).encode(),
                                     headers={"Content-Type": "application/json"})
                signer.add_auth(request)
                async with session.post(endpoint, data=request.body, headers=dict(request.headers)) as response:
                    output = tool_input(json.loads(await response.read()))
                validator.validate(output)
                return output

            return await in_lanes(rows, concurrency, counted(answer))

    return lambda: asyncio.run(run())


def run_llm_agent(rows: list[dict[str, str]], url: str, concurrency: int) -> Callable[[], list[Any]]:
    from airflow_provider_batchorch.agents.llm_agent import LlmAgent
    from airflow_provider_batchorch.core.agent_spec import AgentSpec

    spec = AgentSpec(
        name="bedrock-bench-agent",
        input_fields=[{"name": "row_id"}, {"name": "text"}],
        output_schema=SCHEMA,
        prompt=PROMPT,
        invocation={"kind": "llm", "model": f"bedrock:{MODEL_ID}", "base_url": url, "region": REGION,
                    "max_concurrency": concurrency},
    )
    agent = LlmAgent(spec)

    async def run() -> list[Any]:
        async def answer(row: dict[str, str]) -> Any:
            return (await agent(row)).output

        try:
            return await in_lanes(rows, concurrency, counted(answer))
        finally:
            await agent.aclose()

    return lambda: asyncio.run(run())


RUNNERS = {"boto3-threads": run_boto3_threads, "aiohttp-sigv4": run_aiohttp_sigv4,
           "llm-agent-pydantic-ai": run_llm_agent, "llm-agent": run_llm_agent}


def measure_one(system: str, url: str, rows_count: int, concurrency: int) -> dict[str, Any]:
    """In this process: build the system, then time its processing loop (wall and process CPU)."""
    rows = rows_of(rows_count)
    process = RUNNERS[system](rows, url, concurrency)
    started, cpu_started = time.perf_counter(), cpu_seconds()
    outputs = process()
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    in_order = all(isinstance(o, dict) and o.get("row_id") == r["row_id"] for o, r in zip(outputs, rows))
    failed = sum(1 for o in outputs if not isinstance(o, dict) or "_error" in o)
    return {"system": system, "rows": rows_count, "concurrency": concurrency, "seconds": round(seconds, 3),
            "rows_per_s": round(rows_count / seconds, 1), "cpu_ms_per_row": round(cpu * 1000 / rows_count, 2),
            "failed": failed, "all_in_order": in_order and len(outputs) == rows_count,
            "first_error": next((o["_error"] for o in outputs if isinstance(o, dict) and "_error" in o), None)}


class FakeServerProcess:
    def __init__(self, latency: float) -> None:
        self.latency = latency

    def __enter__(self) -> "FakeServerProcess":
        self.process = subprocess.Popen([sys.executable, str(SERVER), "--latency", str(self.latency)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        self.stats = json.loads(self.process.stdout.readline() or "{}")
        self.process.wait(30)


def run_in_child(system: str, url: str, rows_count: int, concurrency: int) -> dict[str, Any]:
    env = {**os.environ, **FAKE_CREDENTIALS}
    env.pop("BATCHORCH_LLM_VIA_PYDANTIC_AI", None)
    if system == "llm-agent-pydantic-ai":
        env["BATCHORCH_LLM_VIA_PYDANTIC_AI"] = "1"
    command = [sys.executable, __file__, "--child", system, "--url", url, "--rows", str(rows_count),
               "--concurrency", str(concurrency)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        return {"system": system, "concurrency": concurrency, "error": done.stderr.strip()[-500:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, action="append", help="repeatable; default 50 and 200")
    parser.add_argument("--rows", type=int, help="rows per run; default 5 x C (1000 at C=50, 2000 at C=200)")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated: " + ", ".join(SYSTEMS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure_one(args.child, args.url, args.rows, args.concurrency[0])))
        return
    results = []
    with FakeServerProcess(args.latency) as server:
        for concurrency in args.concurrency or [50, 200]:
            rows_count = args.rows or (1000 if concurrency <= 50 else 2000)
            for system in args.systems.split(","):
                result = run_in_child(system, server.url, rows_count, concurrency)
                if "rows_per_s" in result:
                    result["efficiency"] = round(result["rows_per_s"] / (concurrency / args.latency), 3)
                results.append(result)
                print(json.dumps(result), flush=True)
    print(f"\nlatency {args.latency:g} s; fake server: {server.stats}")
    print("| system | C | rows | rows/s | efficiency | CPU ms/row | all rows, in order |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        if "error" in r:
            print(f"| {SYSTEMS[r['system']]} | {r['concurrency']} | failed: {r['error'][-120:]} | | | | |")
            continue
        ok = "yes" if r["all_in_order"] and not r["failed"] else f"no ({r['failed']} failed)"
        print(f"| {SYSTEMS[r['system']]} | {r['concurrency']} | {r['rows']} | {r['rows_per_s']} | "
              f"{r['efficiency']} | {r['cpu_ms_per_row']} | {ok} |")


if __name__ == "__main__":
    main()
