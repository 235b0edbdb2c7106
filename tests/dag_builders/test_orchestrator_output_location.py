"""The batch_orchestrator DAG refuses an unsafe ``output_uri`` in its first task, before any row is read."""

from __future__ import annotations

import pytest

from airflow_provider_batchorch.aws.batch_store import batch_prefix
from airflow_provider_batchorch.aws.processor import execution_name
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri

pytestmark = pytest.mark.e2e


@pytest.fixture
def dag(airflow_db, aws_conn):
    from airflow_provider_batchorch.dag_builders.orchestrator import build_batch_orchestrator_dag

    return build_batch_orchestrator_dag(poll_interval=0.5)


def refused_in_first_task(dag, aws_conn, run, capfd) -> str:
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert states.pop("analyze_csv") == "failed" and str(run.state) == "failed", states
    assert not any(state in ("success", "running", "deferred") for state in states.values()), states
    prefix_bucket, prefix_key = parse_s3_uri(batch_prefix(aws_conn.bucket, execution_name(dag.dag_id, run.run_id)))
    written = aws_conn.client("s3").list_objects_v2(Bucket=prefix_bucket, Prefix=prefix_key).get("KeyCount", 0)
    assert written == 0, "nothing of the batch was written"
    captured = capfd.readouterr()
    return captured.out + captured.err


def test_output_uri_equal_to_the_csv_is_refused_and_the_input_kept(dag, aws_conn, upload_csv, companies_csv, capfd):
    csv_uri = upload_csv(companies_csv, "companies.csv")
    bucket, key = parse_s3_uri(csv_uri)
    s3 = aws_conn.client("s3")
    before = s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    run = dag.test(run_conf={"csv_uri": csv_uri, "agent": "company-enrichment-agent", "output_uri": csv_uri})

    log = refused_in_first_task(dag, aws_conn, run, capfd)
    assert f"UNSAFE_OUTPUT_URI: output_uri {csv_uri} is the input CSV" in log
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == before


def test_non_s3_output_uri_is_refused_in_the_first_task(dag, aws_conn, upload_csv, companies_csv, capfd):
    run = dag.test(run_conf={"csv_uri": upload_csv(companies_csv), "agent": "company-enrichment-agent",
                             "output_uri": "/tmp/companies_enriched.csv"})

    log = refused_in_first_task(dag, aws_conn, run, capfd)
    assert "UNSAFE_OUTPUT_URI: output_uri '/tmp/companies_enriched.csv' is not an S3 URI" in log


def test_a_pipeline_output_over_its_input_is_refused_when_planned():
    """The last stage of a pipeline reads the previous stage's output, so the pipeline's own input is checked."""
    from types import SimpleNamespace

    from airflow_provider_batchorch.core.errors import UnsafeOutputUriError
    from airflow_provider_batchorch.operators.plan_pipeline import PlanPipelineOperator

    stages = [{"agent": "address-validator-agent", "input_mapping": {"street": "address"}},
              {"agent": "company-enrichment-agent", "input_mapping": {"location": "normalized_address"}}]
    conf = {"csv_uri": "s3://b/contacts.csv", "stages": stages, "output_uri": "s3://b/contacts.csv"}
    operator = PlanPipelineOperator(task_id="plan_pipeline", max_stages=3)
    context = {"params": conf, "run_id": "manual__1", "ti": SimpleNamespace(dag_id="batch_pipeline")}
    with pytest.raises(UnsafeOutputUriError, match="is the input CSV"):
        operator.execute(context)
