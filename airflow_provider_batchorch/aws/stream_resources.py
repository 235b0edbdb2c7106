"""A stream's AWS resources and shared files: its two queues and ledger table, its config in S3, its stop marker,
and how deep its source queue is.

The source queue is a standard queue whose visibility timeout is ``StreamPlaces.visibility_seconds``: a dead
worker's rows come back after it. The destination is FIFO when its name ends in ``.fifo`` (the default), so a
result sent again after a worker died between sending it and recording that is dropped by SQS's deduplication
(``MessageDeduplicationId``: the id, for 5 minutes); a standard destination queue gets every result at least
once (docs/embedded_emulator.md).
"""

from __future__ import annotations

from botocore.exceptions import ClientError
from pydantic import BaseModel

from airflow_provider_batchorch.aws.batch_store import get_bytes, put_bytes
from airflow_provider_batchorch.aws.stream_ledger import ensure_ledger_table
from airflow_provider_batchorch.core.errors import StreamNotStartedError
from airflow_provider_batchorch.core.registry import AgentRegistry
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri
from airflow_provider_batchorch.core.stream.config import StreamConfig, StreamPlaces, StreamRequest, build_stream_config


class StreamQueues(BaseModel):
    source_url: str
    destination_url: str


def is_fifo(queue_name_or_url: str) -> bool:
    return queue_name_or_url.endswith(".fifo")


def ensure_stream(sqs, ddb, places: StreamPlaces) -> StreamQueues:
    """Create the stream's queues and ledger table unless they exist; safe to call on every start."""
    source = _ensure_queue(sqs, places.source_queue, {"VisibilityTimeout": str(places.visibility_seconds)})
    destination = _ensure_queue(sqs, places.destination_queue,
                                {"FifoQueue": "true"} if is_fifo(places.destination_queue) else {})
    ensure_ledger_table(ddb, places.ledger_table)
    return StreamQueues(source_url=source, destination_url=destination)


def _ensure_queue(sqs, name: str, attributes: dict[str, str]) -> str:
    try:
        return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    except ClientError as exc:  # exists with other attributes: keep it
        if exc.response["Error"]["Code"] not in ("QueueAlreadyExists", "QueueNameExists"):
            raise
        return sqs.get_queue_url(QueueName=name)["QueueUrl"]


def stream_queues(sqs, places: StreamPlaces) -> StreamQueues:
    return StreamQueues(source_url=sqs.get_queue_url(QueueName=places.source_queue)["QueueUrl"],
                        destination_url=sqs.get_queue_url(QueueName=places.destination_queue)["QueueUrl"])


def stage_stream_config(s3, config: StreamConfig) -> str:
    """Write the config where the stream's workers read it, and lift an earlier stop request."""
    put_bytes(s3, config.config_uri, config.model_dump_json().encode())
    bucket, key = parse_s3_uri(config.stop_uri)
    s3.delete_object(Bucket=bucket, Key=key)
    return config.config_uri


def load_stream_config(s3, config_uri: str) -> StreamConfig:
    try:
        return StreamConfig.model_validate_json(get_bytes(s3, config_uri))
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("NoSuchKey", "404", "NoSuchBucket"):
            raise
        raise StreamNotStartedError(f"no stream config at {config_uri}.",
                                    hint="Trigger the batch_stream DAG, or give batchorch stream-worker --agent.") from exc


def request_stop(s3, config: StreamConfig, reason: str) -> None:
    """The stop marker: every worker of the stream finishes the rows in hand, writes its part and exits."""
    put_bytes(s3, config.stop_uri, reason.encode(), "text/plain")


def stop_requested(s3, config: StreamConfig) -> bool:
    return object_exists(s3, config.stop_uri)


def object_exists(s3, uri: str) -> bool:
    bucket, key = parse_s3_uri(uri)
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


def queue_depth(sqs, queue_url: str) -> tuple[int, int]:
    """(messages waiting, messages taken and not yet deleted)."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def start_stream(s3, sqs, ddb, request: StreamRequest, places: StreamPlaces,
                 registry: AgentRegistry) -> tuple[StreamConfig, StreamQueues]:
    """Validate the request against its agent (UNKNOWN_AGENT, INCOMPATIBLE_AGENT, mapping errors: before any row
    runs), create what the stream needs and stage its config for the workers."""
    config = build_stream_config(request, registry.validate(request.agent), places)
    queues = ensure_stream(sqs, ddb, places)
    stage_stream_config(s3, config)
    return config, queues
