"""Per-row latency of a stream, from arrival (the send time each message carries) to its result, p50/p95.

    python benchmarks/bench_stream.py --rows 2000 --rate 100 --latency 0.05

One ``batchorch stream-worker`` process on a fresh moto server answers ``--rows`` rows sent at ``--rate`` a
second; the agent (``benchmarks/agents.py``) sleeps ``--latency`` seconds and answers. A row's latency is its
result's ``answered_at`` (written once the result is on the destination queue) minus the message's ``sent_at``.
Baselines, measured in the same run on the same emulator:

- ``relay``: the same rows through an SQS round trip with no agent and no ledger: a loop receives ten at a
  time, sends them on to a second queue and deletes them (what the stream worker's queue handling costs at
  least);
- ``direct``: the same agent called in this process through the row logic (``RowProcessor``), one row at a time
  (what the agent costs).

``overhead_p50_ms`` is stream p50 minus direct p50: what receiving, the ledger, answering and the parts add.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from airflow_provider_batchorch.core.row_processing import RowProcessor  # noqa: E402
from airflow_provider_batchorch.core.stream.stats import percentile  # noqa: E402
from airflow_provider_batchorch.agents.kinds import build_agent_call  # noqa: E402
from airflow_provider_batchorch.aws.stream_resources import request_stop  # noqa: E402
from airflow_provider_batchorch.local.emulator import EmbeddedAws  # noqa: E402
from benchmarks import agents  # noqa: E402
from tests.support.streams import Destination, new_stream, part_ids, row_message, send_at_rate  # noqa: E402


def _figures(latencies_ms: list[float]) -> dict:
    return {"p50_ms": round(percentile(latencies_ms, 50), 1), "p95_ms": round(percentile(latencies_ms, 95), 1),
            "max_ms": round(max(latencies_ms, default=0.0), 1), "rows": len(latencies_ms)}


def _stream(aws: EmbeddedAws, bodies: list[str], rate: float, latency: float, concurrency: int) -> dict:
    config, queues = new_stream(aws, agents.spec(), part_rows=100, part_seconds=2, concurrency=concurrency)
    (worker,) = aws.start_workers(1, command=aws.stream_worker_command(config.config_uri),
                                  env={"BATCHORCH_BENCH_LATENCY": str(latency)})
    aws.wait_for_workers([worker])
    sqs = aws.client("sqs")
    started = time.monotonic()
    send_seconds = send_at_rate(sqs, queues.source_url, bodies, rate)
    destination = Destination(sqs, queues.destination_url)
    ids = destination.drain(until_ids=len(bodies), timeout=300, quiet_seconds=1)
    answered = time.monotonic() - started
    request_stop(aws.client("s3"), config, "benchmark over")
    worker.wait(timeout=60)
    in_parts = part_ids(aws.client("s3"), config)
    return {**_figures([(r.answered_at - r.sent_at) * 1000 for r in destination.results]),
            "send_s": round(send_seconds, 1), "answered_all_s": round(answered, 1),
            "exactly_once": len(ids) == len(bodies) and set(ids.values()) == {1} and in_parts == ids}


def _relay(aws: EmbeddedAws, bodies: list[str], rate: float) -> dict:
    sqs = aws.client("sqs")
    name = f"relay-{uuid.uuid4().hex[:8]}"
    source = sqs.create_queue(QueueName=f"{name}-in")["QueueUrl"]
    target = sqs.create_queue(QueueName=f"{name}-out")["QueueUrl"]
    latencies: list[float] = []
    stop = threading.Event()

    def relay() -> None:
        client = aws.client("sqs")
        while not stop.is_set():
            messages = client.receive_message(QueueUrl=source, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
            if not messages:
                continue
            client.send_message_batch(QueueUrl=target, Entries=[
                {"Id": str(i), "MessageBody": m["Body"]} for i, m in enumerate(messages)])
            now = time.time()
            latencies.extend((now - json.loads(m["Body"])["sent_at"]) * 1000 for m in messages)
            client.delete_message_batch(QueueUrl=source, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])

    thread = threading.Thread(target=relay, daemon=True)
    thread.start()
    send_at_rate(sqs, source, bodies, rate)
    deadline = time.monotonic() + 120
    while len(latencies) < len(bodies) and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    thread.join()
    return _figures(latencies)


def _direct(rows: int, latency: float) -> dict:
    from airflow_provider_batchorch.core.stream.config import StreamPlaces, StreamRequest, build_stream_config

    os.environ["BATCHORCH_BENCH_LATENCY"] = str(latency)
    config = build_stream_config(StreamRequest(agent="bench-latency-agent"), agents.spec(), StreamPlaces())
    processor = RowProcessor(config.batch, build_agent_call(config.batch.agent))

    async def each() -> list[float]:
        latencies = []
        for i in range(rows):
            started = time.perf_counter()
            await processor.process_chunk([{"_message_id": str(i), "text": f"row {i}"}])
            latencies.append((time.perf_counter() - started) * 1000)
        return latencies

    return _figures(asyncio.run(each()))


def run(rows: int = 2000, rate: float = 100, latency: float = 0.05, concurrency: int = 20) -> dict:
    bodies = [row_message(f"row-{i:06d}", {"text": f"row {i}"}) for i in range(rows)]
    direct = _direct(min(rows, 200), latency)
    with EmbeddedAws() as aws:
        relay = _relay(aws, bodies, rate)
        stream = _stream(aws, bodies, rate, latency, concurrency)
    return {"rows": rows, "rate_per_s": rate, "agent_latency_s": latency, "concurrency": concurrency,
            "stream": stream, "relay": relay, "direct": direct,
            "overhead_p50_ms": round(stream["p50_ms"] - direct["p50_ms"], 1),
            "ratio_p50_vs_relay": round(stream["p50_ms"] / max(relay["p50_ms"], 0.1), 2),
            "ratio_p95_vs_relay": round(stream["p95_ms"] / max(relay["p95_ms"], 0.1), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=100, help="rows sent a second")
    parser.add_argument("--latency", type=float, default=0.05, help="the agent's seconds a row")
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(run(args.rows, args.rate, args.latency, args.concurrency), indent=2))


if __name__ == "__main__":
    main()
