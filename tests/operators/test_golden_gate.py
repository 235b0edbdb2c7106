"""GoldenGateOperator: nothing without a golden sample; a golden sample from the conf is read from S3 only."""

from __future__ import annotations

from unittest import mock

import pytest

from airflow_provider_batchorch.core.errors import GoldenSampleError, UnknownAgentError
from airflow_provider_batchorch.operators.golden_gate import GoldenGateOperator

CONTEXT = {"ti": mock.Mock(dag_id="d"), "run_id": "r"}
AGENT = {"name": "sentiment-agent", "input_fields": [{"name": "text"}],
         "output_schema": {"type": "object", "properties": {"sentiment": {"type": "string"}}},
         "invocation": {"kind": "python", "callable": "json:dumps"}}


def gate(**request):
    request = {"csv_uri": "s3://b/in.csv", "agent": "sentiment-agent", **request}
    return GoldenGateOperator(task_id="golden_gate", request=request, agent=AGENT).execute(CONTEXT)


def test_without_a_golden_sample_the_batch_goes_on():
    assert gate() == {"report": None, "needs_approval": False, "cost_estimate": None}


def test_a_golden_sample_on_the_worker_disk_is_refused(tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("text,sentiment\nthe worker's own file,positive\n")
    with pytest.raises(GoldenSampleError, match="golden_sample must be s3://"):
        gate(golden_sample=str(secret))


def test_a_judge_that_only_the_conf_registry_brings_is_refused(aws_conn, tmp_path, upload_csv):
    brought = tmp_path / "conf_registry.yaml"  # the run conf's registry: untrusted, never where a judge comes from
    brought.write_text("agents:\n  - name: lenient-judge\n    input_fields: [inputs]\n"
                       "    output_schema: {type: object}\n    invocation: {kind: llm, model: test}\n")
    with pytest.raises(UnknownAgentError, match="lenient-judge"):
        gate(csv_uri=upload_csv("text\nhi\n"), registry=str(brought), golden_judge="lenient-judge")


def test_a_cascade_is_priced_again_at_the_rate_its_golden_sample_escalated(aws_conn, upload_csv):
    from airflow_provider_batchorch.core.agent_spec import AgentSpec
    from airflow_provider_batchorch.core.batch_estimate import estimate_batch
    from airflow_provider_batchorch.core.models import BatchRequest, CsvProfile

    schema = {"type": "object", "properties": {"sentiment": {"type": "string"}, "confidence_score": {"type": "number"}}}
    quick = {"kind": "python", "callable": "airflow_provider_batchorch.builtin_agents.examples:quick_sentiment"}
    careful = AgentSpec(name="careful", input_fields=[{"name": "text"}], output_schema=schema, invocation=quick)
    cheap = AgentSpec(name="quick", input_fields=[{"name": "text"}], output_schema=schema, invocation=quick,
                      escalate_to="careful", escalate_when={"confidence_below": 0.6}).model_copy(
                          update={"escalation_agent": careful})
    # quick_sentiment: two terms of one tone -> 0.9 (kept), one term alone -> 0.5 (escalated)
    golden = upload_csv("text,sentiment\ngreat and excellent,Positive\ngreat,Positive\nterrible,Negative\n"
                        "awful and terrible,Negative\n", "golden.csv")
    request = BatchRequest(csv_uri="s3://b/in.csv", agent="quick", golden_sample=golden, golden_min_accuracy=0)
    profile = CsvProfile(uri="s3://b/in.csv", size_bytes=10, columns=["text"], data_types={"text": "string"},
                         row_count=1000, header_end=5, chunk_rows=100)
    ranged = estimate_batch(request, profile, cheap)
    result = GoldenGateOperator(
        task_id="golden_gate", request=request.model_dump(mode="json"), agent=cheap.model_dump(mode="json"),
        analysis={"request": request.model_dump(mode="json"), "profile": profile.model_dump(mode="json"),
                  "profile_uri": "s3://b/p.json", "batch_id": "b", "prefix_uri": "s3://b/"},
        cost_estimate=ranged.model_dump(mode="json")).execute(CONTEXT)
    assert result["report"]["rows_escalated"] == 2
    assert "escalation rate unknown" in ranged.basis
    assert "plus 50% of rows escalated to careful" in result["cost_estimate"]["basis"]
    assert result["cost_estimate"]["cost_usd_max"] is None
