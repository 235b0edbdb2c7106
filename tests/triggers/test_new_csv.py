"""Several CSVs that land at once: the trigger reports all of them, oldest first, and each gets its own run with a
run id derived from the object (a re-detection names the same run). Real parts: the moto server's S3 bucket
notifications to SQS, the trigger's run loop, the plan operator executed on the asset events Airflow would store."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from tests.support.s3_notifications import notified_queue

pytestmark = pytest.mark.e2e


@pytest.fixture
def aws_env(embedded_aws, monkeypatch):
    """``aws_default`` pointed at the session's moto server (no workers: nothing is enriched here)."""
    for key, value in embedded_aws.environment().items():
        monkeypatch.setenv(key, value)
    return embedded_aws


@pytest.fixture
def watched_queue(aws_env):
    with notified_queue(aws_env) as queue_url:
        yield queue_url


def first_event(queue_url: str):
    from airflow_provider_batchorch.triggers.new_csv import NewCsvTrigger

    _, kwargs = NewCsvTrigger(queue_url=queue_url).serialize()
    trigger = NewCsvTrigger(**{**kwargs, "wait_seconds": 1})
    return asyncio.run(asyncio.wait_for(anext(trigger.run()), timeout=30))


def plan(payloads: list[dict], request: dict) -> list[dict]:
    """``plan_csv_runs`` executed on the asset events Airflow stores for the trigger's events."""
    from airflow_provider_batchorch.operators.plan_csv_runs import PlanCsvRunsOperator

    events = [SimpleNamespace(timestamp=datetime.now(timezone.utc), extra={"from_trigger": True, "payload": payload})
              for payload in payloads]
    operator = PlanCsvRunsOperator(task_id="plan_csv_runs", request=request)
    return operator.execute({"triggering_asset_events": {"asset": events}, "dag_run": None})


def test_three_csvs_landing_at_once_give_three_runs_oldest_first(aws_env, watched_queue):
    s3, bucket = aws_env.client("s3"), aws_env.bucket
    prefix = f"incoming/{uuid.uuid4().hex[:6]}"
    for name in ("b.csv", "a.csv"):  # same second, most likely: the key breaks the tie
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=b"company_name\nAcme\n")
    time.sleep(1.1)  # S3's LastModified has whole seconds
    s3.put_object(Bucket=bucket, Key=f"{prefix}/0-newest.csv", Body=b"company_name\nInitech\n")
    s3.put_object(Bucket=bucket, Key=f"{prefix}/notes.txt", Body=b"not a csv")

    event = first_event(watched_queue)

    uris = [f"s3://{bucket}/{prefix}/{name}" for name in ("a.csv", "b.csv", "0-newest.csv")]
    assert event.payload["csv_uris"] == uris  # all three in one event, oldest first, then by key
    assert all(csv["last_modified"] and csv["etag"] for csv in event.payload["csvs"])
    assert aws_env.client("sqs").receive_message(QueueUrl=watched_queue).get("Messages") is None

    request = {"csv_uri": "s3://b/default.csv", "agent": "company-enrichment-agent", "incremental": True}
    runs = plan([event.payload], request)
    assert [run["conf"]["csv_uri"] for run in runs] == uris
    assert [run["conf"]["agent"] for run in runs] == ["company-enrichment-agent"] * 3
    assert len({run["trigger_run_id"] for run in runs}) == 3
    after = [datetime.fromisoformat(run["run_after"]) for run in runs]
    assert after == sorted(after) and len(set(after)) == 3  # the order the scheduler starts queued runs in
    # The same event delivered again, or folded with a later one into one run: the same run ids, once each.
    again = plan([event.payload, event.payload], request)
    assert [run["trigger_run_id"] for run in again] == [run["trigger_run_id"] for run in runs]


def test_a_new_version_of_the_same_key_is_a_new_run(aws_env, watched_queue):
    s3, bucket = aws_env.client("s3"), aws_env.bucket
    key = f"incoming/{uuid.uuid4().hex[:6]}/daily.csv"
    s3.put_object(Bucket=bucket, Key=key, Body=b"company_name\nAcme\n")
    first = plan([first_event(watched_queue).payload], {"csv_uri": "s3://b/x.csv", "agent": "a"})
    s3.put_object(Bucket=bucket, Key=key, Body=b"company_name\nAcme\nInitech\n")
    second = plan([first_event(watched_queue).payload], {"csv_uri": "s3://b/x.csv", "agent": "a"})
    assert first[0]["trigger_run_id"] != second[0]["trigger_run_id"]
    assert first[0]["trigger_run_id"].startswith("new_csv__daily.csv__")
