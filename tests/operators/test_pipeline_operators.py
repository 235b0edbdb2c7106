"""The six steps, operator by operator (no scheduler, no DB), on the emulator with real workers."""

from __future__ import annotations

import csv
import io
import uuid
from unittest import mock

import pytest

from airflow_provider_batchorch.aws.batch_store import load_profile
from airflow_provider_batchorch.core.errors import MissingRequiredFieldError, UnknownAgentError
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri
from airflow_provider_batchorch.operators.analyze_csv import AnalyzeCsvOperator
from airflow_provider_batchorch.operators.configure_batch import ConfigureBatchOperator
from airflow_provider_batchorch.operators.execute_batch import ExecuteBatchOperator
from airflow_provider_batchorch.operators.get_batch_results import GetBatchResultsOperator
from airflow_provider_batchorch.operators.validate_agent import ValidateAgentOperator
from airflow_provider_batchorch.sensors.batch_execution import BatchExecutionSensor


def make_context(**params):
    return {"params": params, "ti": mock.Mock(dag_id="batch_orchestrator"), "run_id": f"manual__{uuid.uuid4().hex[:8]}"}


def test_six_steps_end_to_end(upload_csv, aws_conn, capfd, companies_csv):
    csv_uri = upload_csv(companies_csv, "companies.csv")
    context = make_context(csv_uri=csv_uri, agent="company-enrichment-agent", chunk_rows=2, concurrency=4)

    analysis = AnalyzeCsvOperator(task_id="analyze_csv").execute(context)
    assert analysis["profile"]["row_count"] == 4 and analysis["profile"]["chunks"] == []
    assert analysis["profile"]["columns"] == ["company_name", "website", "location"]
    assert len(load_profile(aws_conn.client("s3"), analysis["profile_uri"]).chunks) == 2
    assert analysis["prefix_uri"].startswith(f"s3://{aws_conn.bucket}/batchorch/runs/{analysis['batch_id']}")

    agent = ValidateAgentOperator(task_id="validate_agent", agent="company-enrichment-agent").execute(context)
    assert agent["agent"]["name"] == "company-enrichment-agent" and agent["description"]

    configured = ConfigureBatchOperator(
        task_id="configure_batch",
        request=analysis["request"],
        profile_uri=analysis["profile_uri"],
        agent=agent["agent"],
        batch_id=analysis["batch_id"],
        prefix_uri=analysis["prefix_uri"],
    ).execute(context)
    config = configured["config"]
    assert config["input_mapping"]["company_name"] == "company_name" and config["chunk_count"] == 2

    arn = ExecuteBatchOperator(
        task_id="execute_batch", config=config, manifest_uri=configured["manifest_uri"]
    ).execute(context)
    progress = BatchExecutionSensor(
        task_id="monitor_batch", execution_arn=arn, config=config, deferrable=False, poke_interval=0.5, timeout=120
    ).execute(context)
    assert progress["status"] == "SUCCEEDED" and progress["rows_processed"] == 4

    summary = GetBatchResultsOperator(task_id="get_results", config=config, execution_arn=arn).execute(context)
    assert summary["status"] in ("SUCCEEDED", "COMPLETED_WITH_ERRORS")
    assert summary["rows_processed"] == 4 and summary["execution_arn"] == arn
    bucket, key = parse_s3_uri(summary["output_csv_uri"])
    body = aws_conn.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [row["website"] for row in rows] == ["https://acme-robotics.example", "https://globex.example", "",
                                                "https://initech.example"]
    assert all(row["_status"] in ("SUCCEEDED", "FAILED") for row in rows)
    out = capfd.readouterr().out
    assert "CSV: 4 rows, 3 columns" in out and "- Output file: s3://" in out and "- Processing time:" in out


def test_unknown_agent_is_refused_with_suggestions(aws_conn):
    with pytest.raises(UnknownAgentError) as caught:
        ValidateAgentOperator(task_id="validate_agent", agent="company-enrichment-bot").execute(make_context())
    assert "company-enrichment-agent" in str(caught.value)


def test_missing_required_column_names_the_field(upload_csv, aws_conn):
    csv_uri = upload_csv("ticket_id,notes\n1,hello\n", "wrong.csv")
    context = make_context(csv_uri=csv_uri, agent="company-enrichment-agent")
    analysis = AnalyzeCsvOperator(task_id="analyze_csv").execute(context)
    agent = ValidateAgentOperator(task_id="validate_agent", agent="company-enrichment-agent").execute(context)
    with pytest.raises(MissingRequiredFieldError, match="company_name"):
        ConfigureBatchOperator(
            task_id="configure_batch", request=analysis["request"], profile_uri=analysis["profile_uri"],
            agent=agent["agent"], batch_id=analysis["batch_id"], prefix_uri=analysis["prefix_uri"],
        ).execute(context)
