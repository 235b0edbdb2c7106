"""The batch_pipeline DAG: two agents in order under dag.test on the embedded default, stage 2 reading stage 1."""

from __future__ import annotations

import csv
import io

import pytest

from tests.support.dag_runs import return_value, task_states

from airflow_provider_batchorch.core.s3_uri import parse_s3_uri

pytestmark = pytest.mark.e2e

CONTACTS_CSV = (
    "company_name,address\n"
    "Acme Robotics,\"1600 Amphitheatre Parkway, Mountain View, CA 94043, USA\"\n"
    "Globex Bank,\"10 Downing Street, London SW1A 2AA, UK\"\n"
    "Initech Software,not an address\n"
    "=Umbrella,\"221B Baker Street, London NW1 6XE, United Kingdom\"\n"
)
STAGES = [
    {"agent": "address-validator-agent", "input_mapping": {"street": "address"}},
    {"agent": "company-enrichment-agent", "input_mapping": {"location": "normalized_address"},
     "output_fields": ["industry", "country_code", "confidence_score"]},
]


def test_two_stage_pipeline(airflow_db, aws_conn, upload_csv):
    from airflow_provider_batchorch.core.models import METADATA_COLUMNS
    from airflow_provider_batchorch.dag_builders.pipeline import build_batch_pipeline_dag

    dag = build_batch_pipeline_dag(poll_interval=0.5)  # three stage groups; the third is skipped
    run = dag.test(run_conf={"csv_uri": upload_csv(CONTACTS_CSV, "contacts.csv"), "stages": STAGES, "chunk_rows": 2})

    states = task_states(run)
    assert str(run.state) == "success", states
    assert states["stage_2.get_results"] == "success" and states["stage_3.stage_input"] == "skipped"
    assert states["stage_3.get_results"] == "skipped" and states["pipeline_summary"] == "success"

    summary = return_value(run, "pipeline_summary")
    assert [stage["name"] for stage in summary["stages"]] == ["address_validator", "company_enrichment"]
    assert summary["rows_processed"] == 4
    stage2 = return_value(run, "stage_2.configure_batch")["config"]
    assert stage2["input_mapping"]["location"] == "normalized_address"  # the mapping reached stage 1's output
    stage1, stage2_batch = return_value(run, "stage_1.get_results"), return_value(run, "stage_2.get_results")
    assert stage1["batch_id"] != stage2_batch["batch_id"]

    bucket, key = parse_s3_uri(summary["output_csv_uri"])
    body = aws_conn.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(body)))
    header = next(csv.reader(io.StringIO(body)))
    address_fields = return_value(run, "plan_pipeline")["stages"][0]["output_fields"]
    assert header[:2] == ["company_name", "address"]
    assert "normalized_address" in header and "address_validator_country_code" in header
    assert [f"address_validator{column}" for column in METADATA_COLUMNS] == header[2 + len(address_fields):][:7]
    assert header[-10:] == ["industry", "country_code", "confidence_score", *METADATA_COLUMNS]
    assert len(header) == len(set(header))
    assert [row["company_name"] for row in rows] == ["Acme Robotics", "Globex Bank", "Initech Software", "'=Umbrella"]
    assert rows[0]["normalized_address"] and rows[0]["address_validator_status"] == "SUCCEEDED"
    assert all(row["_status"] == "SUCCEEDED" and row["confidence_score"] for row in rows)  # industry may be null with a reason


def _plan(conf: dict, max_stages: int = 3) -> dict:
    from types import SimpleNamespace

    from airflow_provider_batchorch.operators.plan_pipeline import PlanPipelineOperator

    operator = PlanPipelineOperator(task_id="plan_pipeline", max_stages=max_stages)
    context = {"params": conf, "run_id": "manual__1", "ti": SimpleNamespace(dag_id="batch_pipeline")}
    return operator.execute(context)


def test_plan_checks_every_stage_before_anything_runs():
    from airflow_provider_batchorch.core.errors import InvalidConfError, UnknownAgentError

    conf = {"csv_uri": "s3://b/contacts.csv", "stages": STAGES}
    plan = _plan(conf)
    assert plan["stage_count"] == 2
    first, second = plan["stages"]
    assert second["request"]["csv_uri"] == f"s3://b/batchorch/runs/{plan['pipeline_id']}/stage-2-input.csv"
    assert first["batch_id"] != second["batch_id"] != plan["pipeline_id"]
    assert first["renames_after"]["_status"] == "address_validator_status"
    with pytest.raises(UnknownAgentError):
        _plan({**conf, "stages": [STAGES[0], {"agent": "no-such-agent"}]})
    with pytest.raises(InvalidConfError, match="at most 1"):
        _plan(conf, max_stages=1)
    with pytest.raises(InvalidConfError, match="stages"):
        _plan({"csv_uri": "s3://b/contacts.csv", "agent": "company-enrichment-agent"})
