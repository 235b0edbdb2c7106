"""The batch processor's AWS resources: the state machine, the chunk queue (with its dead-letter queue) and the
progress table. ``ensure_processor`` makes sure they exist; ``start_or_attach_execution`` starts one batch."""

from __future__ import annotations

import hashlib
import json
import re

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from airflow_provider_batchorch.aws.dynamodb_tables import ensure_table
from airflow_provider_batchorch.core.s3_uri import join_uri, parse_s3_uri
from airflow_provider_batchorch.aws.state_machine import definition_text
from airflow_provider_batchorch.core.models import BatchConfig

# moto accepts any role; on AWS the CloudFormation template creates the real one and its ARN is passed in.
EMULATOR_ROLE_ARN = "arn:aws:iam::123456789012:role/batchorch-processor"
# A chunk must be answered within this many seconds of being received, or SQS hands it to another worker.
# Workers extend it while they work on a chunk, so it bounds how long a chunk of a dead worker waits, not how
# long a chunk may take. The queue's attribute is the source of truth: workers read it from the queue.
CHUNK_VISIBILITY_SECONDS = 300


class ProcessorNames(BaseModel):
    state_machine: str = "batchorch-processor"
    queue: str = "batchorch-chunks"
    dead_letter_queue: str = "batchorch-chunks-dlq"
    progress_table: str = "batchorch-progress"
    role_arn: str | None = None
    chunk_visibility_seconds: int = Field(CHUNK_VISIBILITY_SECONDS, ge=3, le=43200,
                                          description="SQS visibility timeout of the chunk queue")


class ProcessorRefs(BaseModel):
    state_machine_arn: str
    queue_url: str
    progress_table: str


def ensure_processor(sfn, sqs, ddb, names: ProcessorNames | None = None) -> ProcessorRefs:
    """Create whatever is missing and bring the state machine's definition up to date. Safe to call every run."""
    names = names or ProcessorNames()
    queue_url = _ensure_queue(sqs, names)
    _ensure_progress_table(ddb, names.progress_table)
    state_machine_arn = _ensure_state_machine(sfn, names)
    return ProcessorRefs(state_machine_arn=state_machine_arn, queue_url=queue_url, progress_table=names.progress_table)


def _ensure_queue(sqs, names: ProcessorNames) -> str:
    dlq_url = sqs.create_queue(QueueName=names.dead_letter_queue)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = {
        "VisibilityTimeout": str(names.chunk_visibility_seconds),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
    }
    try:
        return sqs.create_queue(QueueName=names.queue, Attributes=attributes)["QueueUrl"]
    except ClientError as exc:  # exists with other attributes: keep it, update them
        if exc.response["Error"]["Code"] not in ("QueueAlreadyExists", "QueueNameExists"):
            raise
        url = sqs.get_queue_url(QueueName=names.queue)["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        return url


def _ensure_progress_table(ddb, table: str) -> None:
    ensure_table(
        ddb,
        table,
        KeySchema=[{"AttributeName": "batch_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "batch_id", "AttributeType": "S"}],
    )


def _ensure_state_machine(sfn, names: ProcessorNames) -> str:
    definition = definition_text()
    for page in sfn.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            if machine["name"] == names.state_machine:
                arn = machine["stateMachineArn"]
                if sfn.describe_state_machine(stateMachineArn=arn)["definition"] != definition:
                    sfn.update_state_machine(stateMachineArn=arn, definition=definition)
                return arn
    return sfn.create_state_machine(
        name=names.state_machine,
        definition=definition,
        roleArn=names.role_arn or EMULATOR_ROLE_ARN,
        type="STANDARD",
    )["stateMachineArn"]


def execution_name(dag_id: str, run_id: str) -> str:
    """A Step Functions execution name (<= 80 chars of [A-Za-z0-9-_]) stable for one DAG run.

    A retried Airflow task computes the same name and so finds the execution its first try started.
    """
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{dag_id}-{run_id}").strip("-")
    digest = hashlib.sha256(f"{dag_id}\0{run_id}".encode()).hexdigest()[:12]
    return f"{readable[:80 - len(digest) - 1]}-{digest}"


def execution_arn_for(state_machine_arn: str, name: str) -> str:
    # arn:aws:states:REGION:ACCOUNT:stateMachine:NAME -> arn:aws:states:REGION:ACCOUNT:execution:NAME:EXEC
    head, _, machine = state_machine_arn.rpartition(":stateMachine:")
    return f"{head}:execution:{machine}:{name}"


def execution_input(config: BatchConfig, manifest_uri: str, refs: ProcessorRefs) -> dict:
    bucket, key = parse_s3_uri(manifest_uri)
    return {
        "batch_id": config.batch_id,
        "manifest_bucket": bucket,
        "manifest_key": key,
        "config_uri": join_uri(config.prefix_uri, "config.json"),
        "queue_url": refs.queue_url,
        "chunk_concurrency": config.chunk_concurrency,
    }


def start_or_attach_execution(
    sfn, refs: ProcessorRefs, config: BatchConfig, manifest_uri: str, name: str
) -> tuple[str, bool]:
    """Start the batch's execution, or return the one already started under ``name``. -> (arn, attached)."""
    arn = execution_arn_for(refs.state_machine_arn, name)
    try:
        sfn.describe_execution(executionArn=arn)
        return arn, True
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ExecutionDoesNotExist":
            raise
    payload = json.dumps(execution_input(config, manifest_uri, refs))
    try:
        started = sfn.start_execution(stateMachineArn=refs.state_machine_arn, name=name, input=payload)
    except ClientError as exc:  # lost a race with another try of the same task
        if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
            raise
        return arn, True
    return started["executionArn"], False
