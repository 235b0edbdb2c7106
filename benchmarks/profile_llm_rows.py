"""A worker's CPU per row for an LLM agent, and where it goes: the worker's row path in one process, no AWS.

    python benchmarks/profile_llm_rows.py                      # 2,000 rows, C=200, latency 0.2 s
    python benchmarks/profile_llm_rows.py --profile 25         # and the 25 functions with the most own time

The same objects a worker builds per batch (``build_batch_config`` with its packed chunks, ``RowProcessor``, the
agent through ``CachedAgentCall``), the chunks read with ``read_chunk_rows`` and written with ``csv_bytes``, all
chunks at once on one event loop, against benchmarks/peers/fake_openai_server.py in its own process. What this
leaves out of a real worker is per chunk, not per row: the ranged GET, the part and summary PUTs, the progress
write and SendTaskSuccess. CPU is this process's (``time.process_time``) over the processing loop.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks" / "peers"))

from airflow_provider_batchorch.agents.kinds import build_agent_call  # noqa: E402
from airflow_provider_batchorch.agents.openai_chat import close_shared_sessions  # noqa: E402
from airflow_provider_batchorch.aws.csv_source import analyze_local_csv  # noqa: E402
from airflow_provider_batchorch.core.configure import build_batch_config, work_chunks  # noqa: E402
from airflow_provider_batchorch.core.csv.chunk_reader import read_chunk_rows  # noqa: E402
from airflow_provider_batchorch.core.csv.output import csv_bytes  # noqa: E402
from airflow_provider_batchorch.core.models import BatchRequest  # noqa: E402
from airflow_provider_batchorch.core.result_cache import CachedAgentCall  # noqa: E402
from airflow_provider_batchorch.core.row_processing import RowProcessor  # noqa: E402
from bench_llm_peers import AGENT, FakeServer, staged_agent  # noqa: E402


async def process(processor: RowProcessor, data: bytes, chunks) -> int:
    config = processor.config

    async def one(chunk) -> int:
        rows = read_chunk_rows(data[chunk.start:chunk.end], columns=config.columns, delimiter=config.delimiter,
                               quotechar=config.quotechar, encoding=config.encoding)
        outcome = await processor.process_chunk(rows)
        csv_bytes(outcome.rows, neutralize=config.neutralize_formulas)
        return outcome.succeeded

    try:
        return sum(await asyncio.gather(*(one(chunk) for chunk in chunks)))
    finally:
        await close_shared_sessions()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--profile", type=int, metavar="N", help="print the N functions with the most own time")
    args = parser.parse_args()
    server = FakeServer(args.latency)
    try:
        with tempfile.TemporaryDirectory() as work:
            csv_path, registry, spec = staged_agent(Path(work), server.base_url, args.rows)
            request = BatchRequest(csv_uri=str(csv_path), agent=AGENT, concurrency=args.concurrency)
            profile = analyze_local_csv(csv_path, chunk_rows=request.cut_rows)
            config = build_batch_config(request, profile, spec, batch_id="profile", prefix_uri="s3://profile/")
            chunks = work_chunks(profile, config)
            processor = RowProcessor(config, CachedAgentCall(build_agent_call(spec), spec, None))
            data = csv_path.read_bytes()
            profiler = cProfile.Profile() if args.profile else None
            cpu, wall = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            succeeded = asyncio.run(process(processor, data, chunks))
            if profiler:
                profiler.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        server.stop()
    ideal = args.rows * args.latency / args.concurrency
    print(f"{args.rows} rows ({succeeded} succeeded) in {len(chunks)} chunks x {config.row_concurrency} lanes, "
          f"C={args.concurrency}, latency {args.latency} s: {wall:.2f} s (ideal {ideal:.2f} s, efficiency "
          f"{ideal / wall:.3f}); worker CPU {1000 * cpu / args.rows:.3f} ms a row"
          + (" (with cProfile on: slower)" if profiler else ""))
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)


if __name__ == "__main__":
    main()
