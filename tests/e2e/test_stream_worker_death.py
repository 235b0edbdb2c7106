"""A stream worker killed mid-stream (SIGKILL) loses nothing and answers nothing twice: 1,000 rows sent at a fixed
rate to two ``batchorch stream-worker`` processes, one killed while it holds rows; every id is counted once on
the destination queue and once in the S3 parts. The source queue's visibility timeout is 5 s, so the dead
worker's rows come back to the survivor within the test."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from airflow_provider_batchorch.aws.stream_ledger import StreamLedger
from airflow_provider_batchorch.aws.stream_resources import queue_depth, request_stop
from tests.support import agents
from tests.support.streams import Destination, in_process, new_stream, part_ids, row_message, send_at_rate

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

ROWS = 1000
RATE = 200  # rows a second


def test_a_stream_worker_killed_mid_stream_loses_nothing(embedded_aws):
    aws = embedded_aws
    sqs, s3 = aws.client("sqs"), aws.client("s3")
    config, queues = new_stream(aws, in_process(agents.spec("echo")), visibility_seconds=5, part_rows=50,
                                part_seconds=1, concurrency=20)
    victim, survivor = aws.start_workers(2, command=aws.stream_worker_command(config.config_uri))
    aws.wait_for_workers([victim, survivor])
    bodies = [row_message(f"id-{i:04d}", {"text": f"row {i}"}) for i in range(ROWS)]
    sender = threading.Thread(target=send_at_rate, args=(sqs, queues.source_url, bodies, RATE))
    sender.start()
    ledger = StreamLedger(aws.client("dynamodb"), config.places.ledger_table, config.stream_id)
    deadline = time.monotonic() + 60
    while not any(stats.rows_answered for stats in ledger.worker_stats()) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # both workers well into the stream
    held_at_kill = queue_depth(sqs, queues.source_url)[1]
    os.kill(victim.pid, signal.SIGKILL)
    sender.join()

    destination = Destination(sqs, queues.destination_url)
    ids = destination.drain(until_ids=ROWS, timeout=90, quiet_seconds=3)
    deadline = time.monotonic() + 30
    while sum(part_ids(s3, config).values()) < ROWS and time.monotonic() < deadline:
        time.sleep(0.5)
    request_stop(s3, config, "test over")
    assert survivor.wait(timeout=30) == 0
    assert victim.wait(timeout=5) == -signal.SIGKILL

    assert held_at_kill > 0  # the victim (or both) held rows when it died
    assert len(ids) == ROWS and set(ids.values()) == {1}, ids.most_common(3)
    in_parts = part_ids(s3, config)
    assert len(in_parts) == ROWS and set(in_parts.values()) == {1}, in_parts.most_common(3)
    assert queue_depth(sqs, queues.source_url) == (0, 0)
