"""Job records in DynamoDB (moto, in-process): newest first, written once per transition, never failing a task."""

from __future__ import annotations

import io
import logging
import types
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from moto import mock_aws

from airflow_provider_batchorch.aws.batch_store import batch_prefix, save_profile
from airflow_provider_batchorch.aws.job_records import (
    AwsJobSource,
    ensure_jobs_table,
    get_job_record,
    list_job_records,
    live_job_record,
    put_job_record,
    record_job,
)
from airflow_provider_batchorch.aws.progress import record_chunk_done
from airflow_provider_batchorch.core.configure import build_batch_config
from airflow_provider_batchorch.core.csv.profile import analyze_csv
from airflow_provider_batchorch.core.metrics import JobRecord
from airflow_provider_batchorch.core.models import BatchRequest
from airflow_provider_batchorch.core.summary import summarize_batch
from tests.support import agents

BUCKET = "jobs-test"
CSV = b"text\n" + b"".join(f"row {i}\n".encode() for i in range(10))
T0 = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def aws():
    with mock_aws():
        clients = types.SimpleNamespace(
            s3=boto3.client("s3", region_name="us-east-1"),
            sfn=boto3.client("stepfunctions", region_name="us-east-1"),
            dynamodb=boto3.client("dynamodb", region_name="us-east-1"),
        )
        clients.s3.create_bucket(Bucket=BUCKET)
        clients.dynamodb.create_table(
            TableName="progress", KeySchema=[{"AttributeName": "batch_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "batch_id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        yield clients


@pytest.fixture
def emitted():
    """The metric points record_job hands to its ``emit`` (pass ``emit=emitted.extend``)."""
    return []


def start_batch(aws, batch_id: str = "b-1"):
    """A staged config (profile.json in S3) and a RUNNING execution, as after execute_batch."""
    prefix = batch_prefix(BUCKET, batch_id)
    profile = analyze_csv(io.BytesIO(CSV), uri=f"s3://{BUCKET}/in.csv", size_bytes=len(CSV), chunk_rows=4)
    save_profile(aws.s3, profile, prefix)
    request = BatchRequest(csv_uri=f"s3://{BUCKET}/in.csv", agent="test-echo-agent", chunk_rows=4)
    config = build_batch_config(request, profile, agents.spec(), batch_id=batch_id, prefix_uri=prefix)
    machine = aws.sfn.create_state_machine(name=f"m-{batch_id}", definition='{"StartAt":"x","States":{"x":{"Type":"Pass","End":true}}}',
                                           roleArn="arn:aws:iam::123456789012:role/r")["stateMachineArn"]
    arn = aws.sfn.start_execution(stateMachineArn=machine, name=batch_id)["executionArn"]
    return config, arn


def record(batch_id: str, started: datetime, **fields) -> JobRecord:
    return JobRecord(batch_id=batch_id, agent="a", started_at=started, csv_uri="s3://b/x.csv", total_rows=10, **fields)


def test_newest_first_with_limit_and_since(aws):
    table = ensure_jobs_table(aws.dynamodb)
    assert ensure_jobs_table(aws.dynamodb) == table == "batchorch-jobs"  # idempotent
    for minutes in (5, 50, 20, 120, 1):
        put_job_record(aws.dynamodb, record(f"job-{minutes}", T0 - timedelta(minutes=minutes)))
    assert [r.batch_id for r in list_job_records(aws.dynamodb)] == ["job-1", "job-5", "job-20", "job-50", "job-120"]
    assert [r.batch_id for r in list_job_records(aws.dynamodb, limit=2)] == ["job-1", "job-5"]
    since = list_job_records(aws.dynamodb, since=T0 - timedelta(minutes=30))
    assert [r.batch_id for r in since] == ["job-1", "job-5", "job-20"]


def test_table_name_from_the_environment(aws, monkeypatch):
    monkeypatch.setenv("BATCHORCH_JOBS_TABLE", "team-a-jobs")
    put_job_record(aws.dynamodb, record("x", T0), ensure_jobs_table(aws.dynamodb))
    assert get_job_record(aws.dynamodb, "x", "team-a-jobs").batch_id == "x"


def test_started_then_finished_each_recorded_and_counted_once(aws, emitted):
    config, arn = start_batch(aws)
    run = {"dag_id": "batch_orchestrator", "run_id": "manual__1"}
    started = record_job(aws, config, execution_arn=arn, progress_table="progress", emit=emitted.extend, **run)
    assert (started.status, started.total_rows, started.chunk_count) == ("RUNNING", 10, 3)
    assert started.csv_size_bytes == len(CSV)
    assert (started.dag_id, started.run_id, started.progress_table) == ("batch_orchestrator", "manual__1", "progress")
    assert started.started_at == aws.sfn.describe_execution(executionArn=arn)["startDate"]
    assert {p.name for p in emitted} >= {"batchorch.jobs_started", "batchorch.csv_size_bytes"}

    emitted.clear()  # a retried execute_batch re-attaches to the same execution
    assert record_job(aws, config, execution_arn=arn, progress_table="progress", emit=emitted.extend,
                      **run) == started
    assert emitted == []

    aws.sfn.stop_execution(executionArn=arn)  # ended (moto's executions have no interpreter here)
    summary = summarize_batch(config, [], execution_arn=arn, processing_seconds=3.0)
    summary = summary.model_copy(update={"rows_succeeded": 8, "rows_failed": 2, "status": "COMPLETED_WITH_ERRORS",
                                         "failure_reasons": {"boom": 2}})
    finished = record_job(aws, config.model_dump(mode="json"), execution_arn=arn, summary=summary.model_dump(),
                          emit=emitted.extend)
    assert (finished.status, finished.rows_processed, finished.failure_reasons) == ("COMPLETED_WITH_ERRORS", 10,
                                                                                   {"boom": 2})
    assert finished.run_id == "manual__1" and finished.finished_at is not None  # kept from the start record
    assert get_job_record(aws.dynamodb, config.batch_id) == finished
    assert {p.name for p in emitted} >= {"batchorch.jobs_finished", "batchorch.rows_failed", "batchorch.success_rate"}

    emitted.clear()  # a retried get_results
    record_job(aws, config, execution_arn=arn, summary=summary, emit=emitted.extend)
    assert emitted == []


def test_finish_without_a_start_record_rebuilds_it(aws, emitted):
    config, arn = start_batch(aws, "b-late")
    summary = summarize_batch(config, [], execution_arn=arn, processing_seconds=1.0)
    finished = record_job(aws, config, execution_arn=arn, summary=summary, emit=emitted.extend)
    assert finished.batch_id == "b-late" and finished.csv_size_bytes == len(CSV)


def test_a_record_that_cannot_be_written_never_fails_the_task(aws, emitted, caplog):
    config, _ = start_batch(aws)
    missing = "arn:aws:states:us-east-1:123456789012:execution:nope:nope"
    with caplog.at_level(logging.WARNING):
        assert record_job(aws, config, execution_arn=missing, emit=emitted.extend) is None
    assert "Could not keep the job record of batch b-1" in caplog.text
    assert emitted == []


def test_live_record_reads_the_processors_counters(aws, emitted):
    config, arn = start_batch(aws)
    started = record_job(aws, config, execution_arn=arn, progress_table="progress", emit=emitted.extend)
    record_chunk_done(aws.dynamodb, "progress", config.batch_id, chunk=0, succeeded=3, failed=1)
    live = live_job_record(aws.sfn, aws.dynamodb, started)
    assert (live.status, live.rows_succeeded, live.rows_failed) == ("RUNNING", 3, 1)

    aws.sfn.stop_execution(executionArn=arn)  # no results step runs after this: the record is final as it is
    stopped = live_job_record(aws.sfn, aws.dynamodb, started)
    assert stopped.status == "ABORTED" and stopped.is_finished and stopped.finished_at is not None


def test_source_without_a_table_lists_nothing(aws):
    assert AwsJobSource(s3=aws.s3, sfn=aws.sfn, ddb=aws.dynamodb, table="absent").recent_jobs() == []
