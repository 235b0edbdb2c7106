"""Throughput of the processor on the embedded default: rows/s against the ideal concurrency / latency.

    python benchmarks/bench_throughput.py --rows 2000 --latency 0.2 --concurrency 50

The ideal processing time is rows * latency / concurrency; efficiency = ideal / measured (1.0 is perfect).
Measured time is the Step Functions execution's run time, as the summary reports it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow_provider_batchorch.aws.embedded import EmbeddedAws  # noqa: E402
from airflow_provider_batchorch.aws.pipeline import run_pipeline  # noqa: E402
from airflow_provider_batchorch.core.models import BatchRequest  # noqa: E402
from benchmarks import agents  # noqa: E402


def measure(aws: EmbeddedAws, *, rows: int, latency: float, concurrency: int, chunk_rows: int) -> dict:
    s3 = aws.client("s3")
    batch_id = f"bench-{uuid.uuid4().hex[:8]}"
    key = f"bench/{batch_id}.csv"
    s3.put_object(Bucket=aws.bucket, Key=key, Body=("text\n" + "".join(f"row {i}\n" for i in range(rows))).encode())
    request = BatchRequest(csv_uri=f"s3://{aws.bucket}/{key}", agent="bench-latency-agent", concurrency=concurrency,
                           chunk_rows=chunk_rows, timeout_seconds=max(10, latency * 10))
    started = time.perf_counter()
    _, summary = run_pipeline(s3, aws.client("stepfunctions"), aws.client("dynamodb"), aws.refs, request,
                              agents.spec(), batch_id=batch_id, poll_seconds=0.5)
    wall = time.perf_counter() - started
    assert summary.rows_succeeded == rows, summary
    ideal = rows * latency / concurrency
    processing = summary.processing_time_seconds
    return {
        "rows": rows, "latency_s": latency, "concurrency": concurrency, "chunk_rows": chunk_rows,
        "processing_s": round(processing, 2), "wall_s": round(wall, 2),
        "rows_per_s": round(rows / processing, 1), "ideal_s": round(ideal, 2),
        "efficiency": round(ideal / processing, 3) if ideal else None,
    }


def run(cases: list[dict], workers: int = 2) -> list[dict]:
    results = []
    for case in cases:
        os.environ["BATCHORCH_BENCH_LATENCY"] = str(case["latency"])
        with EmbeddedAws() as aws:
            aws.start_workers(workers, max_chunks=64)
            results.append(measure(aws, **case))
    return results


SMALL = [{"rows": 500, "latency": 0.05, "concurrency": 10, "chunk_rows": 50},
         {"rows": 2000, "latency": 0.0, "concurrency": 50, "chunk_rows": 500}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--chunk-rows", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    cases = SMALL if args.rows is None else [
        {"rows": args.rows, "latency": args.latency, "concurrency": args.concurrency, "chunk_rows": args.chunk_rows}]
    for result in run(cases, workers=args.workers):
        print(json.dumps(result))


if __name__ == "__main__":
    main()
