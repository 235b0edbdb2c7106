"""An event trigger for an ``AssetWatcher``: fires when S3 reports new CSVs on an SQS queue.

S3 sends ``s3:ObjectCreated:*`` notifications to the queue (directly, via SNS, or via EventBridge); the
trigger long-polls it in the triggerer, deletes what it read and fires ``{"status": "success", "csv_uris":
[...]}`` once a batch of messages names at least one CSV. Messages naming no CSV (S3's test event, other
files) are deleted and ignored. boto3 runs in a thread, so the triggerer needs no aiobotocore (which the
Amazon provider's ``SqsSensorTrigger`` requires).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent
from airflow_provider_batchorch.aws.polling import apoll
from airflow_provider_batchorch.core.s3_events import csv_uris_from_sqs_messages
from airflow_provider_batchorch.triggers._aws_connection import AwsConnectionFields


class NewCsvTrigger(AwsConnectionFields, BaseEventTrigger):
    """Wait for S3 event notifications of new CSVs on ``queue_url``.

    :param queue_url: The SQS queue the bucket notification sends to.
    :param suffix: Only objects whose key ends with this (case-insensitive) count.
    :param wait_seconds: SQS long-poll time per receive (at most 20).
    :param aws_conn_id: The Airflow AWS connection.
    """

    # An AssetWatcher's trigger is identified by its serialised kwargs: keep the two it has always had.
    aws_connection_fields = ("aws_conn_id", "region_name")

    def __init__(self, *, queue_url: str, suffix: str = ".csv", wait_seconds: int = 20,
                 aws_conn_id: str | None = "aws_default", region_name: str | None = None) -> None:
        super().__init__()
        self.queue_url = queue_url
        self.suffix = suffix
        self.wait_seconds = wait_seconds
        self.set_aws_connection(aws_conn_id=aws_conn_id, region_name=region_name)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"queue_url": self.queue_url, "suffix": self.suffix, "wait_seconds": self.wait_seconds,
             **self.aws_connection_kwargs()},
        )

    def _receive_new_csvs(self, sqs) -> list[str]:
        messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=self.wait_seconds).get("Messages", [])
        if messages:
            sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]} for index, message in enumerate(messages)
            ])
        return csv_uris_from_sqs_messages(messages, self.suffix)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        sqs = await asyncio.to_thread(lambda: self.hook().sqs)
        # The receive long-polls (wait_seconds): no pause between good reads.
        async for csv_uris in apoll(lambda: self._receive_new_csvs(sqs), interval=0,
                                    error_interval=self.wait_seconds or 1, what=self.queue_url, log=self.log):
            if csv_uris:
                self.log.info("New CSVs in S3: %s", ", ".join(csv_uris))
                yield TriggerEvent({"status": "success", "csv_uris": csv_uris})
                return
