"""Fixtures of the Airflow-level tests (operators, sensors, triggers, DAG builders), registered for the whole
suite by tests/conftest.py. The throwaway Airflow, the embedded AWS and its workers live in tests/conftest.py."""

from __future__ import annotations

import json
import uuid

import pytest


@pytest.fixture
def upload_csv(aws_conn):
    """Put CSV text in the emulator's bucket and return its s3:// URI."""
    def upload(text: str, name: str = "input.csv") -> str:
        key = f"tests/airflow/{uuid.uuid4().hex[:8]}/{name}"
        aws_conn.client("s3").put_object(Bucket=aws_conn.bucket, Key=key, Body=text.encode("utf-8"))
        return f"s3://{aws_conn.bucket}/{key}"

    return upload


@pytest.fixture
def companies_csv() -> str:
    """Four companies, CRLF, quoted commas, an empty cell, a formula-looking cell, non-ASCII."""
    return COMPANIES_CSV


COMPANIES_CSV = (
    "company_name,website,location\r\n"
    "Acme Robotics,https://acme-robotics.example,\"Austin, TX\"\r\n"
    "Globex Bank,https://globex.example,London\r\n"
    "=HYPERLINK(\"x\"),,Paris\r\n"
    "Initech Software,https://initech.example,\"Zürich\"\r\n"
)


TEST_ROLE_ARN = "arn:aws:iam::123456789012:role/batchorch-tests"
STATE_MACHINES = {
    # RUNNING for about four seconds, then SUCCEEDED.
    "succeeds": {
        "StartAt": "Work",
        "States": {"Work": {"Type": "Wait", "Seconds": 4, "Next": "Done"}, "Done": {"Type": "Succeed"}},
    },
    "fails": {
        "StartAt": "Boom",
        "States": {"Boom": {"Type": "Fail", "Error": "ChunkFailed", "Cause": "chunk 3: worker died"}},
    },
}


@pytest.fixture
def start_execution(aws_conn):
    """Start a tiny stand-in execution ("succeeds" after ~4 s, time for a first poll on a loaded machine; "fails" at once); its ARN."""
    sfn = aws_conn.client("stepfunctions")
    machines = {m["name"]: m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}

    def start(kind: str) -> str:
        name = f"batchorch-test-{kind}"
        if name not in machines:
            machines[name] = sfn.create_state_machine(
                name=name, definition=json.dumps(STATE_MACHINES[kind]), roleArn=TEST_ROLE_ARN
            )["stateMachineArn"]
        return sfn.start_execution(stateMachineArn=machines[name], name=uuid.uuid4().hex)["executionArn"]

    return start


@pytest.fixture
def small_config():
    """A ``BatchConfig`` dump for tests that only need the progress side (batch id, total rows)."""
    from airflow_provider_batchorch.core.models import BatchConfig

    return BatchConfig(
        batch_id=f"test-{uuid.uuid4().hex[:8]}",
        csv_uri="s3://batchorch-local/in.csv",
        encoding="utf-8",
        delimiter=",",
        columns=["name"],
        agent={
            "name": "echo-agent",
            "input_fields": [{"name": "name"}],
            "output_schema": {"type": "object", "properties": {"echo": {"type": "string"}}},
            "invocation": {"kind": "python", "callable": "json:dumps"},
        },
        input_mapping={"name": "name"},
        output_fields=["echo"],
        concurrency=4,
        chunk_concurrency=2,
        row_concurrency=2,
        timeout_seconds=5,
        total_rows=10,
        chunk_count=2,
        prefix_uri="s3://batchorch-local/batchorch/runs/test/",
        output_uri="s3://batchorch-local/batchorch/runs/test/output/in_enriched.csv",
    ).model_dump(mode="json")
