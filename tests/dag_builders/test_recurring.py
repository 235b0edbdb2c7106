"""Recurring enrichment DAGs: they parse, their schedules and params, the S3 -> SQS -> Asset wiring, one run."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from airflow_provider_batchorch.local.airflow_home import PACKAGE_DAGS_FOLDER
from tests.support.dag_runs import return_value, task_states
from tests.support.s3_notifications import notified_queue

RECURRING = ["batch_scheduled_enrichment", "batch_enrichment_on_new_csv", "batch_enrichment_of_csv"]


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
    assert dag.max_active_runs == 1
    # One run of batch_enrichment_of_csv per CSV: a mapped trigger, a re-detected CSV's run id skipped.
    trigger = dag.get_task("trigger_csv_runs")
    assert trigger.partial_kwargs["trigger_dag_id"] == "batch_enrichment_of_csv"
    assert trigger.partial_kwargs["skip_when_already_exists"] is True
    assert dag.get_task("plan_csv_runs").downstream_task_ids == {"trigger_csv_runs"}
    assert dagbag.dags["batch_enrichment_of_csv"].max_active_runs == 2
    dag.params.validate()


def test_request_precedence_defaults_variable_conf():
    from airflow_provider_batchorch.dag_builders.recurring import enrichment_request

    params = {"csv_uri": "s3://b/default.csv", "agent": "a", "concurrency": 10, "incremental": True}
    assert enrichment_request(params, {}, {}) == params
    assert enrichment_request(params, None, {"concurrency": 3, "agent": "v"}) == {**params, "concurrency": 3, "agent": "v"}
    assert enrichment_request(params, {"agent": "c"}, {"agent": "v"})["agent"] == "c"


@pytest.mark.e2e
def test_a_new_csv_in_s3_reaches_the_watchers_trigger(aws_conn):
    """The real wiring on the emulator: bucket notification -> SQS -> the watcher's trigger event -> the CSV."""
    from airflow_provider_batchorch.core.s3_events import csv_uris_from_asset_event_extras
    from airflow_provider_batchorch.dag_builders.recurring import new_csv_asset

    s3, sqs = aws_conn.client("s3"), aws_conn.client("sqs")
    with notified_queue(aws_conn) as queue_url:
        s3.put_object(Bucket=aws_conn.bucket, Key="incoming/notes.txt", Body=b"not a csv")
        s3.put_object(Bucket=aws_conn.bucket, Key="incoming/new companies.csv", Body=b"company_name\nAcme\n")
        (watcher,) = new_csv_asset(queue_url).watchers
        classpath, kwargs = watcher.trigger.serialize()
        assert classpath == "airflow_provider_batchorch.triggers.new_csv.NewCsvTrigger"
        trigger = type(watcher.trigger)(**{**kwargs, "wait_seconds": 1})

        async def first_event():
            return await asyncio.wait_for(anext(trigger.run()), timeout=30)

        event = asyncio.run(first_event())
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


def test_a_csv_uri_templated_on_the_data_interval_resolves_per_backfilled_interval():
    """The intervals a backfill over three days creates (Airflow's own list, as ``airflow backfill create`` makes
    it), each rendering analyze_csv's request with the template context Airflow gives that run."""
    from airflow.models.backfill import _get_info_list
    from airflow.serialization.serialized_objects import DagSerialization

    from airflow_provider_batchorch.dag_builders.recurring import build_scheduled_enrichment_dag

    dag = build_scheduled_enrichment_dag(csv_uri="s3://b/{{ ds }}/companies.csv",
                                         defaults={"output_uri": "s3://out/{{ ds_nodash }}/"})
    infos = _get_info_list(from_date=datetime(2026, 1, 5, tzinfo=timezone.utc),
                           to_date=datetime(2026, 1, 7, 23, tzinfo=timezone.utc), reverse=False,
                           dag=DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag)))
    assert len(infos) == 3
    requests = []
    for info in infos:
        task = dag.get_task("analyze_csv")
        no_variable = SimpleNamespace(json=SimpleNamespace(get=lambda name, default: default))
        run = SimpleNamespace(conf={}, run_after=info.run_after, data_interval_start=info.data_interval.start,
                              data_interval_end=info.data_interval.end)  # the backfill's run of this interval
        context = {"params": {key: dag.params[key] for key in dag.params}, "var": no_variable, "dag_run": run}
        rendered = task.render_template(task.request, context, dag.get_template_env())
        requests.append((rendered["csv_uri"], rendered["output_uri"]))
    assert requests == [(f"s3://b/2026-01-0{day}/companies.csv", f"s3://out/2026010{day}/") for day in (5, 6, 7)]
    # A manual run in Airflow 3 has no logical date: no data interval in its context, the day it was due instead.
    manual = SimpleNamespace(conf={}, run_after=datetime(2026, 2, 1, 9, tzinfo=timezone.utc),
                             data_interval_start=None, data_interval_end=None)
    context = {"params": {key: dag.params[key] for key in dag.params}, "var": no_variable, "dag_run": manual}
    assert task.render_template(task.request, context, dag.get_template_env())["csv_uri"] == \
        "s3://b/2026-02-01/companies.csv"
