"""An SQS queue the emulator's bucket notifies of every new ``incoming/*.csv`` (what ``NewCsvTrigger`` watches)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator


@contextlib.contextmanager
def notified_queue(aws, prefix: str = "incoming/", queue_name: str | None = None) -> Iterator[str]:
    """The queue's URL while ``aws.bucket`` sends ``s3:ObjectCreated:*`` of ``prefix*.csv`` there; removed after.
    ``queue_name``: that queue (created unless it exists), else a new one."""
    s3, sqs = aws.client("s3"), aws.client("sqs")
    queue_url = sqs.create_queue(QueueName=queue_name or f"incoming-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=aws.bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"], "Filter": {
            "Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}, {"Name": "suffix", "Value": ".csv"}]}}}]})
    try:
        yield queue_url
    finally:
        s3.put_bucket_notification_configuration(Bucket=aws.bucket, NotificationConfiguration={})
