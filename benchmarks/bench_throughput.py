"""Throughput of the processor on the embedded default: measured time against the ideal rows * latency / concurrency.

    python benchmarks/bench_throughput.py --rows 10000 --latency 1.2 --concurrency 200   # one case
    python benchmarks/bench_throughput.py --efficiency 10,50,200,500                      # ~60 s ideal each
    python benchmarks/bench_throughput.py --overhead 20000                                 # instant agent
    python benchmarks/bench_throughput.py --cli --rows 10000 --latency 1.2 --concurrency 200   # `batchorch run`

Each case runs on a fresh moto server with two local workers, as ``batchorch run`` starts them. The agent
(``benchmarks/agents.py``) sleeps ``--latency`` seconds (asyncio) and answers. ``processing_s`` is the Step
Functions execution's run time, as the batch summary reports it; ``wall_s`` adds analysis, staging and results;
efficiency = ideal / processing (1.0 is perfect). ``--cli`` times the whole ``batchorch run`` command instead
(moto start, Airflow DB migration, every DAG task under ``dag.test``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from airflow_provider_batchorch.local.emulator import EmbeddedAws  # noqa: E402
from airflow_provider_batchorch.aws.pipeline import run_pipeline  # noqa: E402
from airflow_provider_batchorch.core.models import BatchRequest  # noqa: E402
from benchmarks import agents  # noqa: E402

WORKERS = 2  # as `batchorch run` starts them on this 2-core machine (one per core)
CHUNK_ROWS = None  # BatchRequest's default: cuts of 100 rows, packed for the concurrency (core/chunk_packing.py)


def _csv(rows: int) -> bytes:
    return ("text\n" + "".join(f"row {i}\n" for i in range(rows))).encode()


def measure(aws: EmbeddedAws, *, rows: int, latency: float, concurrency: int, chunk_rows: int | None = CHUNK_ROWS) -> dict:
    s3 = aws.client("s3")
    batch_id = f"bench-{uuid.uuid4().hex[:8]}"
    key = f"bench/{batch_id}.csv"
    s3.put_object(Bucket=aws.bucket, Key=key, Body=_csv(rows))
    request = BatchRequest(csv_uri=f"s3://{aws.bucket}/{key}", agent="bench-latency-agent", concurrency=concurrency,
                           chunk_rows=chunk_rows, timeout_seconds=max(10, latency * 10))
    started = time.perf_counter()
    config, summary = run_pipeline(s3, aws.client("stepfunctions"), aws.client("dynamodb"), aws.refs, request,
                                   agents.spec(), batch_id=batch_id, poll_seconds=0.5)
    wall = time.perf_counter() - started
    assert summary.rows_succeeded == rows, summary
    ideal = rows * latency / concurrency
    processing = summary.processing_time_seconds
    return {
        "rows": rows, "latency_s": latency, "concurrency": concurrency, "chunk_rows": chunk_rows,
        "chunks": config.chunk_count, "chunks_in_flight": config.chunk_concurrency,
        "rows_per_chunk_in_flight": config.row_concurrency,
        "processing_s": round(processing, 2), "wall_s": round(wall, 2),
        "rows_per_s": round(rows / processing, 1), "ideal_s": round(ideal, 2),
        "efficiency": round(ideal / processing, 3) if ideal else None,
        "ratio_to_ideal": round(processing / ideal, 3) if ideal else None,
    }


def run(cases: list[dict], workers: int = WORKERS) -> list[dict]:
    """Each case ({rows, latency, concurrency[, chunk_rows]}) on its own fresh moto server and workers."""
    results = []
    for case in cases:
        os.environ["BATCHORCH_BENCH_LATENCY"] = str(case["latency"])
        with EmbeddedAws() as aws:
            aws.start_workers(workers)
            aws.wait_for_workers()  # their start-up (imports) is not throughput
            results.append(measure(aws, **case))
    return results


def efficiency_cases(concurrencies: list[int], *, latency: float = 1.2, ideal_seconds: float = 60) -> list[dict]:
    """Rows chosen so every run is ``ideal_seconds`` of ideal processing: rows = concurrency * ideal / latency."""
    return [{"rows": round(c * ideal_seconds / latency), "latency": latency, "concurrency": c} for c in concurrencies]


def overhead_cases(rows: int, chunk_rows: list[int | None], concurrency: int = 200) -> list[dict]:
    """An agent that answers at once: what is left is the orchestration's own cost."""
    return [{"rows": rows, "latency": 0.0, "concurrency": concurrency, "chunk_rows": c} for c in chunk_rows]


def run_cli(*, rows: int, latency: float, concurrency: int, workers: int = WORKERS) -> dict:
    """Time the whole ``batchorch run`` (embedded default) on a ``rows``-row CSV; checks the output CSV."""
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as workdir:
        source, output = Path(workdir) / "input.csv", Path(workdir) / "output.csv"
        source.write_bytes(_csv(rows))
        command = [str(Path(sys.executable).with_name("batchorch")), "run", "--csv", str(source),
                   "--agent", "bench-latency-agent", "--registry", str(HERE / "registry.yaml"),
                   "--concurrency", str(concurrency), "--workers", str(workers), "--output", str(output), "--json"]
        env = {**os.environ, "BATCHORCH_BENCH_LATENCY": str(latency)}
        for key in ("BATCHORCH_AWS_ENDPOINT_URL", "AIRFLOW_CONN_AWS_DEFAULT"):  # the embedded default
            env.pop(key, None)
        started = time.perf_counter()
        completed = subprocess.run(command, cwd=HERE.parent, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if completed.returncode:
            raise RuntimeError(f"batchorch run failed: {completed.stderr[-3000:]}")
        summary = json.loads(completed.stdout.strip().splitlines()[-1])
        with output.open() as stream:
            out_rows = sum(1 for _ in stream) - 1
    ideal = rows * latency / concurrency
    return {
        "rows": rows, "latency_s": latency, "concurrency": concurrency, "command_wall_s": round(wall, 1),
        "processing_s": round(summary["processing_time_seconds"], 2), "ideal_s": round(ideal, 2),
        "rows_out": out_rows, "rows_succeeded": summary["rows_succeeded"],
        "target_wall_s": round(2 * ideal + 60, 1), "meets_target": wall <= 2 * ideal + 60,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS, help="default: packed")
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--efficiency", help="comma-separated concurrencies, each run ~--ideal-seconds of ideal time")
    parser.add_argument("--ideal-seconds", type=float, default=60)
    parser.add_argument("--overhead", type=int, metavar="ROWS", help="instant agent, chunk_rows packed (the default), 100 and 1000")
    parser.add_argument("--cli", action="store_true", help="time the whole `batchorch run` command")
    args = parser.parse_args()
    if args.cli:
        print(json.dumps(run_cli(rows=args.rows, latency=args.latency, concurrency=args.concurrency,
                                 workers=args.workers)))
        return
    if args.efficiency:
        cases = efficiency_cases([int(c) for c in args.efficiency.split(",")], latency=args.latency,
                                 ideal_seconds=args.ideal_seconds)
    elif args.overhead:
        cases = overhead_cases(args.overhead, [CHUNK_ROWS, 100, 1000])
    else:
        cases = [{"rows": args.rows, "latency": args.latency, "concurrency": args.concurrency,
                  "chunk_rows": args.chunk_rows}]
    for result in run(cases, workers=args.workers):
        print(json.dumps(result))


if __name__ == "__main__":
    main()
