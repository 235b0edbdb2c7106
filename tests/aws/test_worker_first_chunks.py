"""A worker's first chunks of a batch: one processor for all of them, no heartbeat round trip on a first delivery."""

import asyncio
import json
import time
import uuid
from datetime import datetime, timezone

from airflow_provider_batchorch.aws.worker import ChunkWorker
from airflow_provider_batchorch.core.models import ChunkSummary


class _Recorder:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda **kwargs: self.calls.append((name, kwargs)) or {}


def test_chunks_of_one_batch_that_arrive_together_share_one_processor(embedded_aws, small_config):
    s3 = embedded_aws.client("s3")
    key = f"tests/first-chunks/{uuid.uuid4().hex}/config.json"
    s3.put_object(Bucket=embedded_aws.bucket, Key=key, Body=json.dumps(small_config).encode())
    config_uri = f"s3://{embedded_aws.bucket}/{key}"
    worker = ChunkWorker(s3=s3, sqs=None, sfn=None, ddb=None, queue_url="q", progress_table="t", visibility_seconds=30)

    async def first_chunks():
        return await asyncio.gather(*(worker._processor_for(config_uri) for _ in range(8)))

    processors = asyncio.run(first_chunks())
    assert all(processor is processors[0] for processor in processors)  # one agent, one limiter, one cache


def test_a_failed_build_is_tried_again_by_the_next_chunk(embedded_aws):
    s3 = embedded_aws.client("s3")
    config_uri = f"s3://{embedded_aws.bucket}/tests/first-chunks/{uuid.uuid4().hex}/config.json"
    worker = ChunkWorker(s3=s3, sqs=None, sfn=None, ddb=None, queue_url="q", progress_table="t", visibility_seconds=30)

    async def twice():
        outcomes = []
        for _ in range(2):
            try:
                await worker._processor_for(config_uri)
            except Exception as error:  # noqa: BLE001 - the missing config.json, each time
                outcomes.append(type(error).__name__)
        return outcomes

    assert len(asyncio.run(twice())) == 2 and config_uri not in worker._processors


def _handled(monkeypatch, receive_count: str | None, waited_seconds: float = 0.5) -> list[str]:
    s3, sqs, sfn, ddb = _Recorder(), _Recorder(), _Recorder(), _Recorder()
    worker = ChunkWorker(s3=s3, sqs=sqs, sfn=sfn, ddb=ddb, queue_url="q", progress_table="t", visibility_seconds=30)

    async def done(config_uri, chunk):
        now = datetime.now(timezone.utc)
        return ChunkSummary(chunk=chunk.chunk, rows=chunk.rows, succeeded=chunk.rows, failed=0, part_uri="s3://b/p",
                            started_at=now, finished_at=now)

    monkeypatch.setattr(worker, "process_chunk", done)
    chunk = {"chunk": 0, "start": 0, "end": 10, "rows": 2, "first_row": 0}
    body = {"task_token": "tok", "config_uri": "s3://b/c.json", "chunk": chunk, "heartbeat_seconds": 300}
    message = {"Body": json.dumps(body), "ReceiptHandle": "rh"}
    if receive_count is not None:
        message["Attributes"] = {"ApproximateReceiveCount": receive_count,
                                 "SentTimestamp": str(int((time.time() - waited_seconds) * 1000))}
    asyncio.run(worker.handle_message(message))
    return [name for name, _ in sfn.calls]


def test_a_first_delivery_starts_at_once_and_a_redelivery_checks_its_task_first(monkeypatch):
    assert _handled(monkeypatch, "1") == ["send_task_success"]
    assert _handled(monkeypatch, "2") == ["send_task_heartbeat", "send_task_success"]
    assert _handled(monkeypatch, None) == ["send_task_heartbeat", "send_task_success"]  # unknown: as a redelivery
    # HeartbeatSeconds run from when Step Functions sent the message: one that waited in the queue is heartbeaten
    assert _handled(monkeypatch, "1", waited_seconds=120) == ["send_task_heartbeat", "send_task_success"]
