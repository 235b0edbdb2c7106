"""One LLM batch on the embedded default without Airflow: when each chunk started and ended, against the execution.

    python benchmarks/timeline_llm_batch.py --concurrency 200 --latency 0.2 --rows 2000

The batch runs through ``aws/pipeline.run_pipeline`` (analyse, configure with packed chunks, stage, execute,
wait, assemble) on a fresh moto server with local ``batchorch worker`` processes, against
benchmarks/peers/fake_openai_server.py. It prints the processing time against the ideal, the CPU a row of the
workers, the emulator and the fake server over the batch, the execution's history events, and each chunk's start
and end in seconds after the execution started (from its ``ChunkSummary``): where a batch loses time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks" / "peers"))

from airflow_provider_batchorch.aws.batch_store import chunk_summary_uri  # noqa: E402
from airflow_provider_batchorch.aws.pipeline import run_pipeline  # noqa: E402
from airflow_provider_batchorch.core.models import BatchRequest, ChunkSummary  # noqa: E402
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri  # noqa: E402
from airflow_provider_batchorch.local.emulator import EmbeddedAws  # noqa: E402
from peer_common import API_KEY  # noqa: E402
from bench_llm_peers import AGENT, KEY_ENV, FakeServer, staged_agent  # noqa: E402


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    server = FakeServer(args.latency)
    try:
        with tempfile.TemporaryDirectory() as work, EmbeddedAws(log_dir=Path(work) / "logs") as aws:
            csv_path, registry, spec = staged_agent(Path(work), server.base_url, args.rows)
            aws.start_workers(args.workers, env={KEY_ENV: API_KEY})
            aws.wait_for_workers()
            s3, sfn = aws.client("s3"), aws.client("stepfunctions")
            s3.upload_file(str(csv_path), aws.bucket, "timeline/rows.csv")
            request = BatchRequest(csv_uri=f"s3://{aws.bucket}/timeline/rows.csv", agent=AGENT,
                                   concurrency=args.concurrency, registry=str(registry))
            watched = {"workers": [psutil.Process(w.pid) for w in aws.workers],
                       "emulator": [psutil.Process(aws._server.pid)], "fake server": [psutil.Process(server.process.pid)]}
            before = {name: sum(map(cpu_seconds, group)) for name, group in watched.items()}
            config, summary = run_pipeline(s3, sfn, aws.client("dynamodb"), aws.refs, request, spec,
                                           batch_id=f"timeline-{uuid.uuid4().hex[:6]}", poll_seconds=0.2)
            used = {name: sum(map(cpu_seconds, group)) - before[name] for name, group in watched.items()}
            execution = sfn.describe_execution(executionArn=summary.execution_arn)
            start = execution["startDate"].timestamp()
            ideal = args.rows * args.latency / args.concurrency
            print(f"{summary.rows_succeeded} of {args.rows} rows; {config.chunk_count} chunks x "
                  f"{config.row_concurrency} lanes; processing {summary.processing_time_seconds:.2f} s, ideal "
                  f"{ideal:.2f} s, efficiency {ideal / summary.processing_time_seconds:.3f}")
            print("CPU ms a row over the batch: " + ", ".join(f"{name} {1000 * seconds / args.rows:.2f}"
                                                              for name, seconds in used.items()))
            for event in sfn.get_execution_history(executionArn=summary.execution_arn, maxResults=1000)["events"]:
                print(f"  {event['timestamp'].timestamp() - start:6.3f} s  {event['type']}")
            chunks = []
            for index in range(config.chunk_count):
                bucket, key = parse_s3_uri(chunk_summary_uri(config, index))
                chunks.append(ChunkSummary.model_validate_json(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
            for chunk in sorted(chunks, key=lambda c: c.started_at):
                began, ended = chunk.started_at.timestamp() - start, chunk.finished_at.timestamp() - start
                print(f"  chunk {chunk.chunk:4d}: {chunk.rows:5d} rows, {began:6.2f} -> {ended:6.2f} s ({ended - began:.2f} s)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
