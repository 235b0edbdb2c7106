"""Cost mode on Bedrock batch inference. moto (5.2.5 here, and its source upstream) has no
CreateModelInvocationJob/GetModelInvocationJob, so the Bedrock control-plane calls go to botocore's Stubber
(each call's parameters checked against Bedrock's API model); S3 is the session's moto server, and the test
writes the job's ``.jsonl.out`` where Bedrock would."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import boto3
import pytest
from botocore.stub import ANY, Stubber

from airflow_provider_batchorch.aws.batch_api_job import collect_batch_job, job_status, submit_batch_job
from airflow_provider_batchorch.aws.batch_store import get_bytes, put_bytes, stage_batch
from airflow_provider_batchorch.aws.bedrock_batch import BEDROCK_BATCH_ROLE_ENV
from airflow_provider_batchorch.aws.csv_source import analyze_s3_csv
from airflow_provider_batchorch.aws.result_cache import open_batch_store
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.configure import build_batch_config
from airflow_provider_batchorch.core.models import BatchRequest
from airflow_provider_batchorch.core.result_cache import CacheKeys

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
JOB_ARN = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc123"
ROLE_ARN = "arn:aws:iam::123456789012:role/bedrock-batch"
ROWS = 120
SPEC = AgentSpec.model_validate({
    "name": "bedrock-labeler",
    "input_fields": [{"name": "id", "type": "string"}, {"name": "text", "type": "string"}],
    "output_schema": {"type": "object", "properties": {"label": {"type": "string", "enum": ["short", "long"]}},
                      "required": ["label"]},
    "invocation": {"kind": "llm", "model": f"bedrock:{MODEL}", "region": "us-east-1"},
})


def bedrock_output(record: dict, index: int) -> dict:
    if index % 10 == 0:
        return {**record, "error": {"errorCode": 429, "errorMessage": "Too many requests"}}
    label = "medium" if index == 7 else "short"  # row 7: an answer the schema refuses
    return {**record, "modelOutput": {"content": [{"type": "tool_use", "name": "final_result", "input": {"label": label}}],
                                      "usage": {"input_tokens": 100, "output_tokens": 10}}}


@pytest.fixture
def staged(aws_conn, monkeypatch):
    monkeypatch.setenv(BEDROCK_BATCH_ROLE_ENV, ROLE_ARN)
    s3 = aws_conn.client("s3")
    batch_id = f"bedrock-{uuid.uuid4().hex[:8]}"
    uri = put_bytes(s3, f"s3://{aws_conn.bucket}/{batch_id}/in.csv",
                    ("id,text\n" + "".join(f"{i},text {i}\n" for i in range(ROWS))).encode(), "text/csv")
    profile = analyze_s3_csv(s3, uri, chunk_rows=50)
    request = BatchRequest(csv_uri=uri, agent=SPEC.name, execution_mode="batch_api")
    config = build_batch_config(request, profile, SPEC, batch_id=batch_id,
                                prefix_uri=f"s3://{aws_conn.bucket}/{batch_id}/batch/")
    return s3, config, stage_batch(s3, config, profile.chunks)


def test_a_bedrock_job_is_submitted_from_s3_and_its_valid_answers_stored(staged):
    s3, config, manifest_uri = staged
    bedrock = boto3.client("bedrock", region_name="us-east-1")
    with Stubber(bedrock) as stub:
        stub.add_response("create_model_invocation_job", {"jobArn": JOB_ARN}, {
            "jobName": config.batch_id, "roleArn": ROLE_ARN, "modelId": MODEL,
            "inputDataConfig": {"s3InputDataConfig": {"s3Uri": f"{config.prefix_uri}batch_api/input.jsonl",
                                                      "s3InputFormat": "JSONL"}},
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": f"{config.prefix_uri}batch_api/output/"}},
            "timeoutDurationInHours": ANY,
        })
        job = submit_batch_job(s3, config, manifest_uri, bedrock=bedrock)
        assert (job.provider, job.job_id, len(job.keys)) == ("bedrock", JOB_ARN, ROWS)

        records = [json.loads(line) for line in get_bytes(s3, f"{config.prefix_uri}batch_api/input.jsonl").splitlines()]
        body = records[3]["modelInput"]
        assert body["tool_choice"] == {"type": "tool", "name": "final_result"}
        assert body["tools"][0]["input_schema"]["properties"]["label"]["enum"] == ["short", "long"]
        assert '"id": "3"' in body["messages"][0]["content"][0]["text"]

        # What Bedrock writes when the job ends: one .jsonl.out line per record, under a folder named after the job.
        out = b"".join(json.dumps(bedrock_output(r, i)).encode() + b"\n" for i, r in enumerate(records))
        put_bytes(s3, f"{config.prefix_uri}batch_api/output/abc123/input.jsonl.out", out)
        stub.add_response("get_model_invocation_job", {
            "jobArn": JOB_ARN, "modelId": MODEL, "roleArn": ROLE_ARN, "status": "Completed",
            "submitTime": datetime.now(timezone.utc),
            "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://b/in.jsonl"}},
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://b/out/"}},
        }, {"jobIdentifier": JOB_ARN})
        assert job_status(job, bedrock=bedrock) == ("Completed", True)
        outcome = collect_batch_job(s3, config, job, "Completed", bedrock=bedrock)
        stub.assert_no_pending_responses()

    assert (outcome.requests, outcome.answered, outcome.invalid, outcome.failed) == (ROWS, 107, 1, 12)
    assert outcome.failure_reasons["batch API: 429: Too many requests"] == 12
    assert (outcome.input_tokens, outcome.output_tokens) == (108 * 100, 108 * 10)
    store, key = open_batch_store(s3, config), CacheKeys(SPEC)
    assert store.get(key({"id": "1", "text": "text 1"}))["source"] == "batch_api"
    assert store.get(key({"id": "7", "text": "text 7"})) is None  # invalid: real time asks it again
    assert store.get(key({"id": "10", "text": "text 10"})) is None  # failed in the job: real time


def test_too_few_rows_for_bedrock_run_real_time_without_a_job(staged):
    s3, config, manifest_uri = staged
    small = config.model_copy(update={"total_rows": 5})
    manifest = json.loads(get_bytes(s3, manifest_uri))[:1]  # one chunk of 50 rows: below Bedrock's minimum
    short_manifest = put_bytes(s3, f"{config.prefix_uri}short-manifest.json", json.dumps(manifest).encode())
    bedrock = boto3.client("bedrock", region_name="us-east-1")
    with Stubber(bedrock):  # no response queued: any call would fail the test
        outcome = submit_batch_job(s3, small, short_manifest, bedrock=bedrock)
    assert outcome.status == "not_submitted" and "at least 100" in outcome.note
