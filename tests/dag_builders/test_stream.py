"""The batch_stream DAG under ``dag.test()`` (its trigger inline) on the emulator, with a stream worker in this
process: the rows sent are answered, the monitor reports throughput and lag and stops the stream when idle, and
the worker exits on the stop marker."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest

from airflow_provider_batchorch.aws.stream_resources import load_stream_config, stop_requested, stream_queues
from airflow_provider_batchorch.aws.worker import RETRY_CONFIG
from airflow_provider_batchorch.core.errors import StreamNotStartedError
from airflow_provider_batchorch.core.stream.config import StreamPlaces
from tests.support.dag_runs import return_value, task_states
from tests.support.streams import Destination, part_ids, row_message, send_at_rate

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
ROWS = 40


def places(aws) -> StreamPlaces:
    name = f"dag{uuid.uuid4().hex[:8]}"
    return StreamPlaces(stream_id=name, source_queue=f"{name}-rows", destination_queue=f"{name}-results.fifo",
                        output_uri=f"s3://{aws.bucket}/streams/{name}/", visibility_seconds=30)


def worker_and_rows(aws, where: StreamPlaces, outcome: dict) -> None:
    """Once start_stream staged the stream: send the rows, and answer them until the stop marker."""
    from airflow_provider_batchorch.aws.stream_worker import StreamWorker

    s3, sqs, ddb = (aws.client(service, config=RETRY_CONFIG) for service in ("s3", "sqs", "dynamodb"))
    deadline = time.monotonic() + 90
    while True:
        try:
            config = load_stream_config(s3, where.output_uri + "stream.json")
            break
        except StreamNotStartedError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.2)
    queues = stream_queues(sqs, config.places)
    worker = StreamWorker(s3=s3, sqs=sqs, ddb=ddb, config=config, queues=queues)
    sender = threading.Thread(target=send_at_rate, args=(sqs, queues.source_url, [
        row_message(f"t{i}", {"subject": "Billing", "body": f"My invoice {i} was charged twice"}) for i in range(ROWS)], 40))
    sender.start()
    outcome["stats"] = asyncio.new_event_loop().run_until_complete(worker.run())  # returns on the stop marker
    sender.join()
    outcome["config"], outcome["queues"] = config, queues


def test_the_stream_dag_answers_rows_reports_and_stops_when_idle(airflow_db, aws_conn):
    from airflow_provider_batchorch.dag_builders.stream import build_batch_stream_dag

    where = places(aws_conn)
    dag = build_batch_stream_dag(places=where, poll_interval=0.5)
    outcome: dict = {}
    side = threading.Thread(target=worker_and_rows, args=(aws_conn, where, outcome), daemon=True)
    side.start()
    run = dag.test(run_conf={"agent": "ticket-classifier-agent", "part_rows": 10, "part_seconds": 1,
                             "stop_after_idle_seconds": 3, "max_duration_seconds": 90})
    side.join(timeout=30)

    assert str(run.state) == "success", task_states(run)
    started = return_value(run, "start_stream")
    assert started["config"]["places"]["stream_id"] == where.stream_id
    final = return_value(run, "monitor_stream")
    assert final["rows_answered"] == ROWS and final["rows_failed"] == 0 and final["backlog"] == 0
    assert final["latency_p95_ms"] > 0
    assert not side.is_alive() and outcome["stats"].stopped  # the worker left on the stop marker
    config, queues = outcome["config"], outcome["queues"]
    assert stop_requested(aws_conn.client("s3"), config)
    ids = Destination(aws_conn.client("sqs"), queues.destination_url).drain(until_ids=ROWS, timeout=20)
    assert len(ids) == ROWS and set(ids.values()) == {1}
    assert part_ids(aws_conn.client("s3"), config) == ids


def test_the_stream_dag_refuses_an_agent_it_cannot_run(airflow_db, aws_conn):
    from airflow_provider_batchorch.dag_builders.stream import build_batch_stream_dag

    dag = build_batch_stream_dag(places=places(aws_conn), poll_interval=0.5)
    run = dag.test(run_conf={"agent": "no-such-agent", "stop_after_idle_seconds": 1})
    assert task_states(run)["start_stream"] == "failed" and task_states(run)["monitor_stream"] != "success"


def test_the_stream_dag_runs_one_at_a_time_as_its_runs_share_the_stream():
    from airflow_provider_batchorch.dag_builders.stream import build_batch_stream_dag

    assert build_batch_stream_dag().max_active_runs == 1
    assert build_batch_stream_dag("other_stream", max_active_runs=4).max_active_runs == 1
