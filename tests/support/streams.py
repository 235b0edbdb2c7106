"""What the stream tests and the stream benchmark share: a stream on the emulator, rows sent at a fixed rate,
and the ids read back from the destination queue and from the S3 parts."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import threading
import time
import uuid
from collections import Counter

from airflow_provider_batchorch.aws.stream_resources import ensure_stream, stage_stream_config
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri
from airflow_provider_batchorch.core.stream.config import (
    MESSAGE_ID_COLUMN,
    StreamConfig,
    StreamPlaces,
    StreamRequest,
    build_stream_config,
)
from airflow_provider_batchorch.core.stream.messages import StreamResult


def in_process(spec: AgentSpec) -> AgentSpec:
    """The agent run in the worker's own process (``isolation: none``): faster, for the tests' trusted agents."""
    from airflow_provider_batchorch.core.agent_spec import PythonInvocation

    return spec.model_copy(update={"invocation": PythonInvocation(callable=spec.invocation.callable, isolation="none")})


def new_stream(aws, agent: AgentSpec, *, visibility_seconds: int = 60, fifo: bool = True, **request):
    """A stream of its own (queues, ledger stream id, S3 prefix) on the emulator; returns (config, queues)."""
    name = f"s{uuid.uuid4().hex[:10]}"
    places = StreamPlaces(stream_id=name, source_queue=f"{name}-rows",
                          destination_queue=f"{name}-results" + (".fifo" if fifo else ""),
                          output_uri=f"s3://{aws.bucket}/streams/{name}/", visibility_seconds=visibility_seconds)
    request.setdefault("agent", agent.name)
    config = build_stream_config(StreamRequest(**request), agent, places)
    queues = ensure_stream(aws.client("sqs"), aws.client("dynamodb"), places)
    stage_stream_config(aws.client("s3"), config)
    return config, queues


def row_message(row_id: str, row: dict, sent_at: float | None = None) -> str:
    return json.dumps({"id": row_id, "row": row, "sent_at": time.time() if sent_at is None else sent_at})


def send_at_rate(sqs, queue_url: str, bodies: list[str], per_second: float) -> float:
    """Send the bodies in batches of ten, paced to ``per_second``; returns the seconds it took."""
    started = time.monotonic()
    for index in range(0, len(bodies), 10):
        due = started + index / per_second
        time.sleep(max(0.0, due - time.monotonic()))
        batch = bodies[index:index + 10]
        now = time.time()  # the send time each message carries: latency is measured from here
        entries = [{"Id": str(i), "MessageBody": _stamped(body, now)} for i, body in enumerate(batch)]
        response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        assert not response.get("Failed"), response["Failed"]
    return time.monotonic() - started


def _stamped(body: str, now: float) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if isinstance(data, dict) and "sent_at" in data:
        data["sent_at"] = now
        return json.dumps(data)
    return body


class Destination:
    """Everything received from a destination queue so far (deleted as read)."""

    def __init__(self, sqs, queue_url: str) -> None:
        self.sqs, self.queue_url = sqs, queue_url
        self.results: list[StreamResult] = []

    def drain(self, *, until_ids: int | None = None, timeout: float = 60.0, quiet_seconds: float = 1.5) -> Counter:
        deadline = time.monotonic() + timeout
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                                WaitTimeSeconds=0).get("Messages", [])
            if messages:
                quiet_since = time.monotonic()
                self.results += [StreamResult.model_validate_json(m["Body"]) for m in messages]
                self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
                continue
            done = until_ids is None or len(self.ids()) >= until_ids
            if done and time.monotonic() - quiet_since >= quiet_seconds:
                break
            time.sleep(0.1)
        return self.ids()

    def ids(self) -> Counter:
        return Counter(result.id for result in self.results)


def part_rows(s3, config: StreamConfig) -> list[dict[str, str]]:
    """Every row of every part, in part order."""
    bucket, prefix = parse_s3_uri(config.parts_prefix)
    rows: list[dict[str, str]] = []
    keys = sorted(item["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
                  for item in page.get("Contents", []))
    for key in keys:
        text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        reader = csv.DictReader(io.StringIO(text))
        assert reader.fieldnames == config.batch.output_columns, (key, reader.fieldnames)
        rows += list(reader)
    return rows


def part_ids(s3, config: StreamConfig) -> Counter:
    return Counter(row[MESSAGE_ID_COLUMN] for row in part_rows(s3, config))


@contextlib.contextmanager
def worker_thread(aws, config: StreamConfig, queues, **worker_options):
    """A ``StreamWorker`` in a thread of this process (its own event loop); stopped and joined at the end."""
    import asyncio

    from airflow_provider_batchorch.aws.stream_worker import StreamWorker

    from airflow_provider_batchorch.aws.worker import RETRY_CONFIG

    s3, sqs, ddb = (aws.client(service, config=RETRY_CONFIG) for service in ("s3", "sqs", "dynamodb"))
    worker = StreamWorker(s3=s3, sqs=sqs, ddb=ddb, config=config, queues=queues, **worker_options)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=lambda: loop.run_until_complete(worker.run()), daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        loop.call_soon_threadsafe(worker.stop)
        thread.join(timeout=30)
        loop.close()
