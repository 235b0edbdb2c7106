"""StreamProgressTrigger: serialisable, and run() reads a real (emulated) stream until its stop marker or idle."""

from __future__ import annotations

import asyncio
import importlib
import time

from airflow_provider_batchorch.aws.stream_ledger import StreamLedger
from airflow_provider_batchorch.aws.stream_resources import request_stop
from airflow_provider_batchorch.core.stream.stats import WorkerStreamStats
from airflow_provider_batchorch.triggers.stream_progress import StreamProgressTrigger
from tests.support import agents
from tests.support.streams import new_stream, row_message


def test_serialize_round_trip():
    trigger = StreamProgressTrigger(config={"places": {}}, started_at=5.0, stop_rule={"max_duration_seconds": 9},
                                    poll_interval=1, region_name="eu-west-1")
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    assert getattr(importlib.import_module(module), name)(**kwargs).serialize() == (classpath, kwargs)
    assert kwargs["stop_rule"] == {"max_duration_seconds": 9} and kwargs["aws_conn_id"] == "aws_default"


async def _events(trigger):
    return [event async for event in trigger.run()]


def test_it_reports_lag_and_fires_on_the_stop_marker(aws_conn):
    config, queues = new_stream(aws_conn, agents.spec())
    sqs, s3 = aws_conn.client("sqs"), aws_conn.client("s3")
    for i in range(3):
        sqs.send_message(QueueUrl=queues.source_url, MessageBody=row_message(f"r{i}", {"text": "x"}))
    StreamLedger(aws_conn.client("dynamodb"), config.places.ledger_table, config.stream_id).put_worker_stats(
        WorkerStreamStats(worker_id="w", started_at=time.time(), updated_at=time.time(), rows_answered=4,
                          latency_p50_ms=12, latency_p95_ms=40))
    request_stop(s3, config, "by hand")
    trigger = StreamProgressTrigger(config=config.model_dump(mode="json"), started_at=time.time(), poll_interval=0.1)
    (event,) = asyncio.run(_events(trigger))
    assert event.payload["status"] == "stopped" and event.payload["reason"] == "stop marker"
    stats = event.payload["stats"]
    assert (stats["backlog"], stats["rows_answered"], stats["latency_p95_ms"], stats["workers_running"]) == (3, 4, 40, 1)


def test_it_fires_when_the_stream_is_idle(aws_conn):
    config, _ = new_stream(aws_conn, agents.spec())
    trigger = StreamProgressTrigger(config=config.model_dump(mode="json"), started_at=time.time(),
                                    stop_rule={"stop_after_idle_seconds": 0.3}, poll_interval=0.1)
    (event,) = asyncio.run(_events(trigger))
    assert "idle" in event.payload["reason"] and event.payload["stats"]["rows_answered"] == 0
