"""Bedrock batch inference: ``CreateModelInvocationJob`` over a JSONL input in S3, its output read back from S3.

The job's IAM service role (read the input, write the output, invoke the model) is the deployment's:
``BATCHORCH_BEDROCK_BATCH_ROLE_ARN``, never the run conf. Input and output live under the batch's own prefix.
"""

from __future__ import annotations

import os
from typing import Any

from airflow_provider_batchorch.aws.batch_store import get_bytes, put_bytes
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri

BEDROCK_BATCH_ROLE_ENV = "BATCHORCH_BEDROCK_BATCH_ROLE_ARN"
TERMINAL_STATUSES = frozenset({"Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"})
MIN_TIMEOUT_HOURS, MAX_TIMEOUT_HOURS = 24, 168  # the range CreateModelInvocationJob takes
MIN_RECORDS = 100  # Bedrock refuses smaller jobs (its "minimum records per batch inference job" quota)
OUTPUT_SUFFIX = ".jsonl.out"


def bedrock_role_arn(environ: Any = None) -> str | None:
    environ = os.environ if environ is None else environ
    return (environ.get(BEDROCK_BATCH_ROLE_ENV) or "").strip() or None


def bedrock_client(region: str | None = None, endpoint_url: str | None = None) -> Any:
    import boto3

    return boto3.client("bedrock", region_name=region, endpoint_url=endpoint_url)


def submit_bedrock_job(bedrock: Any, s3: Any, *, job_name: str, model_id: str, role_arn: str, records: bytes,
                       input_uri: str, output_uri: str, timeout_hours: int = MIN_TIMEOUT_HOURS) -> str:
    """Write the records to ``input_uri`` and create the job; returns its ARN."""
    put_bytes(s3, input_uri, records, "application/jsonl")
    response = bedrock.create_model_invocation_job(
        jobName=job_name,
        roleArn=role_arn,
        modelId=model_id,
        inputDataConfig={"s3InputDataConfig": {"s3Uri": input_uri, "s3InputFormat": "JSONL"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": output_uri}},
        timeoutDurationInHours=max(MIN_TIMEOUT_HOURS, min(MAX_TIMEOUT_HOURS, timeout_hours)),
    )
    return response["jobArn"]


def bedrock_job_status(bedrock: Any, job_arn: str) -> str:
    return bedrock.get_model_invocation_job(jobIdentifier=job_arn)["status"]


def stop_bedrock_job(bedrock: Any, job_arn: str) -> None:
    bedrock.stop_model_invocation_job(jobIdentifier=job_arn)


def read_bedrock_output(s3: Any, output_uri: str) -> str:
    """Every ``*.jsonl.out`` the job wrote under ``output_uri`` (Bedrock adds a folder named after the job)."""
    bucket, prefix = parse_s3_uri(output_uri)
    texts = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if item["Key"].endswith(OUTPUT_SUFFIX):
                texts.append(get_bytes(s3, f"s3://{bucket}/{item['Key']}").decode("utf-8"))
    return "\n".join(texts)
