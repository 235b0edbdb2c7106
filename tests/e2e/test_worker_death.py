"""Nothing lost on AWS either (issue 12): a chunk that kills every worker it is delivered to ends the batch.

The worker heartbeats each chunk's task (``HeartbeatSeconds`` in ``aws/batch_processor.asl.json``); a chunk whose
worker died stops heartbeating, its task fails with a heartbeat timeout after its retries, and the results step
writes its rows from the source CSV as CHUNK_FAILED. The shipped HeartbeatSeconds (minutes) is lowered for these
tests on a moto server of their own; the chunk queue's visibility timeout is longer than a test, so a dead worker's
message is not redelivered meanwhile (each task attempt meets one death, not five).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time

import pytest

from airflow_provider_batchorch.aws.pipeline import wait_for_execution
from airflow_provider_batchorch.aws.processor import ProcessorNames
from airflow_provider_batchorch.aws.results import assemble_results
from airflow_provider_batchorch.aws.state_machine import load_definition
from airflow_provider_batchorch.aws.worker import ChunkWorker
from tests.chaos.helpers import put_csv, read_output, start_batch, workers
from tests.support import agents, poison_agents, self_cancelling_agents
from tests.support.chunk_failure import assert_only_chunk_failed

pytestmark = pytest.mark.timeout(240)

HEARTBEAT_SECONDS = 4
VISIBILITY_SECONDS = 120
CHUNK_ATTEMPTS = 4  # the first try and the Retry's MaxAttempts (3), 2 + 4 + 8 s apart
RETRY_WAITS = 2 + 4 + 8


def _chunk_task(definition: dict) -> dict:
    return definition["States"]["ProcessChunks"]["ItemProcessor"]["States"]["ProcessChunk"]


def test_the_chunk_task_heartbeats_at_a_pace_its_worker_keeps():
    task = _chunk_task(load_definition())
    assert task["HeartbeatSeconds"] == task["Parameters"]["MessageBody"]["heartbeat_seconds"]
    assert task["HeartbeatSeconds"] < task["TimeoutSeconds"]
    assert {"States.Timeout", "States.HeartbeatTimeout"} <= set(task["Retry"][0]["ErrorEquals"])
    worker = ChunkWorker(s3=None, sqs=None, sfn=None, ddb=None, queue_url="q", progress_table="t",
                         visibility_seconds=300)
    assert task["HeartbeatSeconds"] >= 3 * worker.keep_alive_interval(task["HeartbeatSeconds"])
    worker.visibility_seconds = 43200  # a long visibility timeout does not slow the heartbeats down
    assert task["HeartbeatSeconds"] >= 3 * worker.keep_alive_interval(task["HeartbeatSeconds"])


@pytest.fixture(scope="module")
def short_heartbeat_aws(tmp_path_factory):
    """A moto server of our own whose state machine heartbeats every HEARTBEAT_SECONDS."""
    from airflow_provider_batchorch.local.emulator import EmbeddedAws

    names = ProcessorNames(chunk_visibility_seconds=VISIBILITY_SECONDS)
    with EmbeddedAws(log_dir=tmp_path_factory.mktemp("worker-death"), names=names) as aws:
        definition = load_definition()
        task = _chunk_task(definition)
        assert "HeartbeatSeconds" in task, "the chunk task has no HeartbeatSeconds"
        task["HeartbeatSeconds"] = task["Parameters"]["MessageBody"]["heartbeat_seconds"] = HEARTBEAT_SECONDS
        aws.client("stepfunctions").update_state_machine(stateMachineArn=aws.refs.state_machine_arn,
                                                         definition=json.dumps(definition))
        yield aws


@contextlib.contextmanager
def replaced_workers(aws, count: int, **options):
    """``count`` workers, each dead one replaced (the embedded harness does not restart them); yields the deaths."""
    alive = aws.start_workers(count, **options)
    deaths: list[int] = []
    stop = threading.Event()

    def replace() -> None:
        while not stop.wait(0.1):
            for process in list(alive):
                if process.poll() is not None:
                    deaths.append(process.returncode)
                    alive.remove(process)
                    alive.extend(aws.start_workers(1, **options))

    supervisor = threading.Thread(target=replace, daemon=True)
    supervisor.start()
    try:
        yield deaths
    finally:
        stop.set()
        supervisor.join()
        for process in alive:
            process.terminate()
        for process in alive:
            process.wait(timeout=15)


def test_a_chunk_that_kills_every_worker_ends_the_batch_with_every_row(short_heartbeat_aws):
    aws, s3 = short_heartbeat_aws, short_heartbeat_aws.client("s3")
    texts = [f"row {i}" for i in range(20)]
    texts[7] = "row 7 os-exit"  # isolation: none, so os._exit takes the worker down with it, on every delivery
    csv_uri = put_csv(s3, aws.bucket, texts)
    config, arn = start_batch(aws, s3, csv_uri, poison_agents.spec("poison", isolation="none"), chunk_rows=5,
                              concurrency=4)
    # One chunk at a time per worker: the poison chunk takes no other chunk down with it.
    with replaced_workers(aws, 2, max_chunks=1) as deaths:
        started = time.monotonic()
        bound = HEARTBEAT_SECONDS * CHUNK_ATTEMPTS + RETRY_WAITS + 40
        wait_for_execution(aws.client("stepfunctions"), aws.client("dynamodb"), aws.refs, arn, config,
                           poll_seconds=0.3, timeout_seconds=bound)
        elapsed = time.monotonic() - started
    assert deaths and all(code == 7 for code in deaths), deaths
    assert elapsed < bound
    summary = assemble_results(s3, aws.client("stepfunctions"), config, arn)
    assert_only_chunk_failed(read_output(s3, summary.output_csv_uri), texts, ["5", "6", "7", "8", "9"])
    assert (summary.status, summary.rows_succeeded, summary.rows_failed) == ("COMPLETED_WITH_ERRORS", 15, 5)


def test_a_chunk_slower_than_its_heartbeat_is_kept_alive_by_its_worker(short_heartbeat_aws):
    aws, s3 = short_heartbeat_aws, short_heartbeat_aws.client("s3")
    texts = [f"slow {i}" for i in range(5)]
    csv_uri = put_csv(s3, aws.bucket, texts)
    # One chunk, one row at a time, 1.5 s a row: 7.5 s of work, HEARTBEAT_SECONDS between heartbeats at most.
    config, arn = start_batch(aws, s3, csv_uri, agents.spec("slow"), chunk_rows=5, concurrency=1)
    with workers(aws, 1, env={"BATCHORCH_TEST_AGENT_LATENCY": "1.5"}):
        wait_for_execution(aws.client("stepfunctions"), aws.client("dynamodb"), aws.refs, arn, config,
                           poll_seconds=0.3, timeout_seconds=90)
    summary = assemble_results(s3, aws.client("stepfunctions"), config, arn)
    rows = read_output(s3, summary.output_csv_uri)
    assert [row["_status"] for row in rows] == ["SUCCEEDED"] * 5
    assert (summary.status, summary.rows_succeeded) == ("SUCCEEDED", 5)


def test_an_agents_own_cancelled_error_fails_its_row_and_the_chunk_is_answered(short_heartbeat_aws):
    aws, s3 = short_heartbeat_aws, short_heartbeat_aws.client("s3")
    texts = ["a", "please cancel", "c", "d", "cancel me", "f"]
    csv_uri = put_csv(s3, aws.bucket, texts)
    config, arn = start_batch(aws, s3, csv_uri, self_cancelling_agents.spec(), chunk_rows=3, concurrency=2)
    with workers(aws, 1):
        wait_for_execution(aws.client("stepfunctions"), aws.client("dynamodb"), aws.refs, arn, config,
                           poll_seconds=0.3, timeout_seconds=60)
    summary = assemble_results(s3, aws.client("stepfunctions"), config, arn)
    rows = read_output(s3, summary.output_csv_uri)
    assert [row["_error_code"] for row in rows] == ["", "AGENT_ERROR", "", "", "AGENT_ERROR", ""]
    assert "CancelledError" in rows[1]["_error_message"]
    assert (summary.rows_succeeded, summary.rows_failed) == (4, 2)
