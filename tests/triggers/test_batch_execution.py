"""BatchExecutionTrigger: serialisable, and run() polls a real (emulated) execution to one event."""

from __future__ import annotations

import asyncio
import importlib

import pytest
from botocore.exceptions import ClientError

from airflow_provider_batchorch.aws.progress import record_partial
from airflow_provider_batchorch.core.progress import format_duration, progress_line
from airflow_provider_batchorch.triggers._aws_connection import AwsConnectionFields
from airflow_provider_batchorch.triggers.batch_execution import BatchExecutionTrigger
from airflow_provider_batchorch.triggers.new_csv import NewCsvTrigger
from airflow_provider_batchorch.core.models import Progress


def make_trigger(execution_arn, config, **kwargs):
    kwargs.setdefault("poll_interval", 0.2)
    return BatchExecutionTrigger(execution_arn=execution_arn, config=config, progress_table="batchorch-progress", **kwargs)


async def collect(trigger):
    return [event async for event in trigger.run()]


def test_serialize_round_trip(small_config):
    trigger = make_trigger("arn:aws:states:us-east-1:123456789012:execution:m:e", small_config, region_name="eu-west-1")
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_batchorch.triggers.batch_execution.BatchExecutionTrigger"
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    assert kwargs["config"] == small_config and kwargs["aws_conn_id"] == "aws_default"


def test_both_triggers_keep_their_aws_connection_one_way(small_config):
    batch = make_trigger("arn:aws:states:us-east-1:1:execution:m:e", small_config, region_name="eu-west-1",
                         verify=False, botocore_config={"read_timeout": 5})
    kwargs = batch.serialize()[1]
    assert {name: kwargs[name] for name in AwsConnectionFields.aws_connection_fields} == {
        "aws_conn_id": "aws_default", "region_name": "eu-west-1", "verify": False, "botocore_config": {"read_timeout": 5}}
    assert (batch.hook().region_name, batch.hook().verify) == ("eu-west-1", False)
    new_csv = NewCsvTrigger(queue_url="https://sqs/q", region_name="eu-west-1")
    assert new_csv.serialize()[1] == {"queue_url": "https://sqs/q", "suffix": ".csv", "wait_seconds": 20,
                                      "aws_conn_id": "aws_default", "region_name": "eu-west-1"}
    assert new_csv.hook().region_name == "eu-west-1"


def test_run_logs_progress_and_fires_success(start_execution, small_config, aws_conn, capfd):
    execution_arn = start_execution("succeeds")
    record_partial(aws_conn.client("dynamodb"), "batchorch-progress", small_config["batch_id"], 0, 4, 1)
    events = asyncio.run(collect(make_trigger(execution_arn, small_config)))
    assert len(events) == 1
    event = events[0].payload
    assert event["status"] == "success" and event["execution_status"] == "SUCCEEDED"
    assert event["execution_arn"] == execution_arn
    assert event["progress"]["rows_processed"] == 5 and event["progress"]["rows_failed"] == 1
    captured = capfd.readouterr()
    polls = [line for line in (captured.out + captured.err).splitlines() if "rows 5/10 (50.0%), 1 failed" in line]
    assert any("RUNNING: rows 5/10" in line and "ETA" in line for line in polls), polls
    assert "SUCCEEDED: rows 5/10" in polls[-1], polls


def test_run_fires_failure_with_error_and_cause(start_execution, small_config):
    execution_arn = start_execution("fails")
    (event,) = asyncio.run(collect(make_trigger(execution_arn, small_config)))
    assert event.payload["status"] == "failure"
    assert event.payload["execution_status"] == "FAILED"
    assert event.payload["error"] == "ChunkFailed" and event.payload["cause"] == "chunk 3: worker died"


def test_run_rides_out_a_few_failed_polls(start_execution, small_config, monkeypatch):
    from botocore.exceptions import EndpointConnectionError

    failures = iter([EndpointConnectionError(endpoint_url="http://moto"), throttling_error()])
    real_read = BatchExecutionTrigger._read_progress

    def flaky_read(self, hook, config):
        error = next(failures, None)
        if error is not None:
            raise error
        return real_read(self, hook, config)

    monkeypatch.setattr(BatchExecutionTrigger, "_read_progress", flaky_read)
    (event,) = asyncio.run(collect(make_trigger(start_execution("fails"), small_config)))
    assert event.payload["execution_status"] == "FAILED"


def test_run_gives_up_after_consecutive_failed_polls(small_config, monkeypatch):
    def always_throttled(self, hook, config):
        raise throttling_error()

    monkeypatch.setattr(BatchExecutionTrigger, "_read_progress", always_throttled)
    with pytest.raises(ClientError, match="Throttling"):
        asyncio.run(collect(make_trigger("arn:aws:states:us-east-1:1:execution:m:e", small_config, poll_interval=0)))


def throttling_error() -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "DescribeExecution")


def test_progress_line_reads_like_the_seed():
    progress = Progress(status="RUNNING", total_rows=1000, rows_processed=450, rows_succeeded=438, rows_failed=12,
                        percent=45.0, eta_seconds=300, elapsed_seconds=245)
    assert progress_line(progress) == "RUNNING: rows 450/1000 (45.0%), 12 failed, elapsed 4m 5s, ETA 5m 0s"
    assert format_duration(3900) == "1h 5m" and format_duration(7) == "7s"
