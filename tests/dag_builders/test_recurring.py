"""Recurring enrichment DAGs: they parse, their schedules and params, the S3 -> SQS -> Asset wiring, one run."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from airflow_provider_batchorch.local.airflow_home import PACKAGE_DAGS_FOLDER
from tests.support.dag_runs import return_value, task_states

RECURRING = ["batch_scheduled_enrichment", "batch_enrichment_on_new_csv"]


@pytest.fixture(scope="module", params=[PACKAGE_DAGS_FOLDER], ids=["package"])
def dagbag(request):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(request.param))


def test_both_parse(dagbag):
    assert dagbag.import_errors == {}
    assert set(RECURRING) <= set(dagbag.dag_ids)


def test_cron_schedule_and_params_that_need_no_conf(dagbag):
    dag = dagbag.dags["batch_scheduled_enrichment"]
    assert dag.schedule == "0 6 * * *" and not dag.catchup and dag.max_active_runs == 1
    values = {key: dag.params.get_param(key).value for key in dag.params}
    assert values["csv_uri"].startswith("s3://") and values["agent"] == "company-enrichment-agent"
    assert values["incremental"] is True
    dag.params.validate()  # a scheduled run has no conf: the defaults alone are a valid form
    request = dag.get_task("analyze_csv").request
    assert "enrichment_request(" in request and "batch_scheduled_enrichment_conf" in request


def test_asset_schedule_is_fed_by_sqs_s3_events(dagbag):
    from airflow_provider_batchorch.triggers.new_csv import NewCsvTrigger

    dag = dagbag.dags["batch_enrichment_on_new_csv"]
    (asset,) = dag.timetable.asset_condition.objects
    assert asset.uri.startswith("s3://batchorch-local/incoming")
    (watcher,) = asset.watchers
    assert isinstance(watcher.trigger, NewCsvTrigger)
    assert watcher.trigger.queue_url.endswith("/batchorch-incoming-csv")
    assert "triggering_asset_events" in dag.get_task("analyze_csv").request
    dag.params.validate()


def test_request_precedence_defaults_variable_conf_then_the_new_csv(caplog):
    from airflow_provider_batchorch.dag_builders.recurring import enrichment_request

    params = {"csv_uri": "s3://b/default.csv", "agent": "a", "concurrency": 10, "incremental": True}
    assert enrichment_request(params, {}, {}) == params
    assert enrichment_request(params, None, {"concurrency": 3, "agent": "v"}) == {**params, "concurrency": 3, "agent": "v"}
    assert enrichment_request(params, {"agent": "c"}, {"agent": "v"})["agent"] == "c"

    def event(minute, *keys):
        body = json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"},
                                                                                 "object": {"key": k}}} for k in keys]})
        return SimpleNamespace(timestamp=datetime(2025, 1, 1, 0, minute, tzinfo=timezone.utc),
                               extra={"from_trigger": True, "payload": {"message_batch": [{"Body": body}]}})

    events = {"asset": [event(5, "in/new.csv"), event(1, "in/old.csv", "in/notes.txt")]}
    assert enrichment_request(params, {}, {}, events)["csv_uri"] == "s3://b/in/new.csv"
    assert "in/old.csv" in caplog.text  # the CSV this run does not enrich is named
    assert enrichment_request(params, {"csv_uri": "s3://b/mine.csv"}, {}, events)["csv_uri"] == "s3://b/mine.csv"
    assert enrichment_request(params, {}, {}, {})["csv_uri"] == "s3://b/default.csv"


@pytest.mark.e2e
def test_a_new_csv_in_s3_reaches_the_watchers_trigger(aws_conn):
    """The real wiring on the emulator: bucket notification -> SQS -> the watcher's trigger event -> the CSV."""
    from airflow_provider_batchorch.core.s3_events import csv_uris_from_asset_event_extras
    from airflow_provider_batchorch.dag_builders.recurring import new_csv_asset

    s3, sqs = aws_conn.client("s3"), aws_conn.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"incoming-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=aws_conn.bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"], "Filter": {
            "Key": {"FilterRules": [{"Name": "prefix", "Value": "incoming/"}, {"Name": "suffix", "Value": ".csv"}]}}}]})
    try:
        s3.put_object(Bucket=aws_conn.bucket, Key="incoming/notes.txt", Body=b"not a csv")
        s3.put_object(Bucket=aws_conn.bucket, Key="incoming/new companies.csv", Body=b"company_name\nAcme\n")
        (watcher,) = new_csv_asset(queue_url).watchers
        classpath, kwargs = watcher.trigger.serialize()
        assert classpath == "airflow_provider_batchorch.triggers.new_csv.NewCsvTrigger"
        trigger = type(watcher.trigger)(**{**kwargs, "wait_seconds": 1})

        async def first_event():
            return await asyncio.wait_for(anext(trigger.run()), timeout=30)

        event = asyncio.run(first_event())
    finally:
        s3.put_bucket_notification_configuration(Bucket=aws_conn.bucket, NotificationConfiguration={})
    extra = {"from_trigger": True, "payload": event.payload}  # what Airflow stores on the asset event
    assert csv_uris_from_asset_event_extras([extra]) == [f"s3://{aws_conn.bucket}/incoming/new companies.csv"]
    assert sqs.receive_message(QueueUrl=queue_url).get("Messages") is None  # read messages are deleted


@pytest.mark.e2e
def test_scheduled_run_without_conf_enriches_what_the_variable_names(airflow_db, aws_conn, upload_csv, monkeypatch,
                                                                     companies_csv):
    from airflow_provider_batchorch.dag_builders.recurring import build_scheduled_enrichment_dag

    csv_uri = upload_csv(companies_csv, "companies.csv")
    monkeypatch.setenv("AIRFLOW_VAR_BATCH_SCHEDULED_ENRICHMENT_CONF", json.dumps({"csv_uri": csv_uri, "chunk_rows": 2}))
    dag = build_scheduled_enrichment_dag(batch_options={"poll_interval": 0.5})

    run = dag.test()

    assert str(run.state) == "success", task_states(run)
    request = return_value(run, "analyze_csv")["request"]
    assert (request["csv_uri"], request["chunk_rows"], request["incremental"]) == (csv_uri, 2, True)
    summary = return_value(run, "get_results")
    assert summary["rows_processed"] == 4
