"""The "Step Functions Execution" extra link: the AWS console on AWS, the local dashboard on an emulator.

The link's values are persisted by the real operator from the real connection (``ti.xcom_push``, the Airflow
side, is recorded), then formatted as Airflow's ``get_link`` does: ``format_link(**persisted)``.
"""

from __future__ import annotations

from unittest import mock

from fastapi.testclient import TestClient

from airflow_provider_batchorch.links.batch_execution import BatchExecutionLink
from airflow_provider_batchorch.operators.execute_batch import ExecuteBatchOperator


def _persisted(ti: mock.Mock) -> dict:
    push = ti.xcom_push.call_args.kwargs
    assert push["key"] == BatchExecutionLink.key
    return push["value"]


def test_on_an_emulator_the_link_opens_the_batchs_row_on_the_dashboard(aws_conn, small_config, monkeypatch):
    from airflow_provider_batchorch.aws.job_records import AwsJobSource
    from airflow_provider_batchorch.plugins.dashboard_app import create_dashboard_app

    batch_id = small_config["batch_id"]
    ti = mock.Mock(dag_id="batch_orchestrator")
    ExecuteBatchOperator(task_id="execute_batch", config=small_config,
                         manifest_uri=f"{small_config['prefix_uri']}manifest.json",
                         ).execute({"ti": ti, "run_id": f"manual__{batch_id}"})
    persisted = _persisted(ti)
    assert persisted["endpoint_url"] == aws_conn.endpoint_url

    monkeypatch.delenv("AIRFLOW__API__BASE_URL", raising=False)
    url = BatchExecutionLink().format_link(**persisted)
    assert url == f"/batchorch-dashboard/#batch-{batch_id}"
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://airflow.internal:8080/")
    assert BatchExecutionLink().format_link(**persisted) == (
        f"http://airflow.internal:8080/batchorch-dashboard/#batch-{batch_id}")

    # The anchor is a row of the dashboard page: the job execute_batch recorded.
    app = create_dashboard_app(lambda: AwsJobSource(s3=aws_conn.client("s3"), sfn=aws_conn.client("stepfunctions"),
                                                    ddb=aws_conn.client("dynamodb")))
    page = TestClient(app).get("/")
    assert page.status_code == 200
    assert f'id="batch-{batch_id}"' in page.text


def test_on_aws_the_link_opens_the_execution_in_the_console(monkeypatch, small_config):
    monkeypatch.setenv("AIRFLOW_CONN_AWS_REAL", '{"conn_type": "aws", "extra": {"region_name": "eu-west-1"}}')
    arn = "arn:aws:states:eu-west-1:123456789012:execution:batchorch-processor:run-1"
    operator = ExecuteBatchOperator(task_id="execute_batch", config=small_config, manifest_uri="s3://b/m.json",
                                    aws_conn_id="aws_real")
    ti = mock.Mock(dag_id="batch_orchestrator")
    BatchExecutionLink.persist_for({"ti": ti}, operator, arn)
    persisted = _persisted(ti)
    assert persisted["endpoint_url"] is None and persisted["batch_id"] == small_config["batch_id"]
    assert BatchExecutionLink().format_link(**persisted) == (
        "https://console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/"
        "arn%3Aaws%3Astates%3Aeu-west-1%3A123456789012%3Aexecution%3Abatchorch-processor%3Arun-1"
    )
