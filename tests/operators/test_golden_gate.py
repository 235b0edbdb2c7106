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
    assert gate() == {"report": None, "needs_approval": False}


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
