"""Cost mode (the batch API) sees the batch's rules like the workers do: filtered rows send no request, the input
steps shape what is sent, and each request carries the per-row prompt."""

from __future__ import annotations

import uuid

from airflow_provider_batchorch.agents.llm_batch import LlmBatchRequests
from airflow_provider_batchorch.aws.batch_api_job import _row_inputs
from airflow_provider_batchorch.aws.batch_store import put_bytes, stage_batch
from airflow_provider_batchorch.aws.csv_source import analyze_s3_csv
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.configure import build_batch_config
from airflow_provider_batchorch.core.models import BatchRequest

SPEC = AgentSpec.model_validate({
    "name": "ticket-llm", "input_fields": [{"name": "ticket"}],
    "output_schema": {"type": "object", "properties": {"category": {"type": "string"}}, "required": ["category"]},
    "invocation": {"kind": "llm", "model": "stub-model", "base_url": "http://127.0.0.1:9/v1"},
})
RULES = {"input": [{"kind": "template", "template": "{subject}: {body}", "into": "ticket"}],
         "filter": "tier != 'free'", "prompt_template": "Classify {ticket}"}


def test_the_batch_jobs_rows_and_requests_follow_the_rules(embedded_aws):
    s3 = embedded_aws.client("s3")
    batch_id = f"rules-{uuid.uuid4().hex[:8]}"
    uri = put_bytes(s3, f"s3://{embedded_aws.bucket}/{batch_id}/in.csv",
                    "subject,body,tier\nRefund,{{ 7*7 }} ü,pro\nHi,spam,free\nLogin,broken,pro\n".encode(), "text/csv")
    profile = analyze_s3_csv(s3, uri, chunk_rows=2)
    request = BatchRequest(csv_uri=uri, agent=SPEC.name, execution_mode="batch_api", transforms=RULES)
    config = build_batch_config(request, profile, SPEC, batch_id=batch_id,
                                prefix_uri=f"s3://{embedded_aws.bucket}/{batch_id}/batch/")
    inputs = list(_row_inputs(s3, config, stage_batch(s3, config, profile.chunks)))
    assert inputs == [{"ticket": "Refund: {{ 7*7 }} ü"}, {"ticket": "Login: broken"}]
    body = LlmBatchRequests(config.agent).record("r1", inputs[0])["body"]
    assert body["messages"][1]["content"].splitlines()[0] == 'Classify "Refund: {{ 7*7 }} ü"'
