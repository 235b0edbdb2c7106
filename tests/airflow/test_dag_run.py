"""The real batch_orchestrator DAG under ``dag.test()`` (triggers inline) on the emulator with workers."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from airflow_provider_batchorch.aws.processor import execution_name

pytestmark = pytest.mark.e2e


@pytest.fixture
def dag(airflow_db, aws_conn):
    from airflow_provider_batchorch.dag_factory import build_batch_orchestrator_dag

    return build_batch_orchestrator_dag(poll_interval=0.5)


def task_states(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def return_value(run, task_id: str):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(
            XComModel.get_many(run_id=run.run_id, dag_ids=run.dag_id, task_ids=task_id, key="return_value")
        ).one()
        return XComModel.deserialize_value(row)


def executions_named(aws, name: str) -> list[dict]:
    sfn = aws.client("stepfunctions")
    return [e for e in sfn.list_executions(stateMachineArn=aws.refs.state_machine_arn)["executions"] if e["name"] == name]


def test_full_dag_run(dag, aws_conn, upload_csv, companies_csv):
    csv_uri = upload_csv(companies_csv, "companies.csv")
    run = dag.test(run_conf={"csv_uri": csv_uri, "agent": "company-enrichment-agent", "chunk_rows": 2})

    assert str(run.state) == "success", task_states(run)
    summary = return_value(run, "get_results")
    assert summary["rows_processed"] == 4 and summary["status"] in ("SUCCEEDED", "COMPLETED_WITH_ERRORS")
    progress = return_value(run, "monitor_batch")
    assert progress["status"] == "SUCCEEDED" and progress["rows_processed"] == 4
    arn = return_value(run, "execute_batch")
    assert arn == summary["execution_arn"] and len(executions_named(aws_conn, execution_name(dag.dag_id, run.run_id))) == 1

    bucket, _, key = summary["output_csv_uri"].removeprefix("s3://").partition("/")
    body = aws_conn.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [row["location"] for row in rows] == ["Austin, TX", "London", "Paris", "Zürich"]


def test_bad_conf_fails_the_analyze_task_with_one_line(dag, aws_conn, upload_csv, capfd):
    run = dag.test(run_conf={"csv_uri": upload_csv("a\n1\n"), "agent": "company-enrichment-agent", "colour": "blue"})
    assert task_states(run)["analyze_csv"] == "failed" and str(run.state) == "failed"
    assert "INVALID_CONF: invalid run conf: colour: unknown key" in capfd.readouterr().out


def test_retried_execute_task_reattaches_to_the_same_execution(dag, aws_conn, upload_csv, monkeypatch, companies_csv):
    """The first try of execute_batch starts the execution and then dies; the retry must find it, not start another."""
    from airflow_provider_batchorch.operators import execute_batch

    real_start = execute_batch.start_or_attach_execution
    calls = []

    def start_then_crash(*args, **kwargs):
        arn, attached = real_start(*args, **kwargs)
        calls.append((arn, attached))
        if len(calls) == 1:
            raise ConnectionError("worker lost its network after StartExecution")
        return arn, attached

    monkeypatch.setattr(execute_batch, "start_or_attach_execution", start_then_crash)
    task = dag.get_task("execute_batch")
    task.retries, task.retry_delay = 1, timedelta(0)

    run = dag.test(run_conf={"csv_uri": upload_csv(companies_csv), "agent": "company-enrichment-agent", "chunk_rows": 2})

    assert str(run.state) == "success", task_states(run)
    (first_arn, first_attached), (second_arn, second_attached) = calls
    assert (first_attached, second_attached) == (False, True) and first_arn == second_arn
    assert run.get_task_instance("execute_batch").try_number == 2
    assert len(executions_named(aws_conn, execution_name(dag.dag_id, run.run_id))) == 1
    assert return_value(run, "get_results")["rows_processed"] == 4
