"""An event trigger for an ``AssetWatcher``: fires when S3 reports new CSVs on an SQS queue.

S3 sends ``s3:ObjectCreated:*`` notifications to the queue (directly, via SNS, or via EventBridge); the
trigger long-polls it in the triggerer; once a receive names at least one CSV it drains the queue (short
receives until one comes back empty, so CSVs that land together are reported together), deletes what it read,
describes each CSV (``head_object``: ``LastModified``, ``ETag``) and fires ``{"status": "success", "csv_uris": [...],
"csvs": [{"uri", "last_modified", "etag"}, ...]}``, oldest first. Messages naming no CSV (S3's test event, other
files) are deleted and ignored. boto3 runs in a thread, so the triggerer needs no aiobotocore (which the
Amazon provider's ``SqsSensorTrigger`` requires).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent
from airflow_provider_batchorch.aws.landed_csvs import describe_landed_csvs
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
    drain_rounds = 10  # receives of up to 10 messages after the first that named a CSV (not serialised)

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

    def _receive(self, sqs, wait_seconds: int) -> list[str] | None:
        """The CSVs named by one receive ([] when its messages name none); None when the queue had nothing."""
        messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=wait_seconds).get("Messages", [])
        if messages:
            sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]} for index, message in enumerate(messages)
            ])
        return csv_uris_from_sqs_messages(messages, self.suffix) if messages else None

    def _receive_new_csvs(self, sqs) -> list[str]:
        """The CSVs of one long-poll, and of every message that arrived with them (drained with short receives)."""
        uris = self._receive(sqs, self.wait_seconds) or []
        for _ in range(self.drain_rounds if uris else 0):
            more = self._receive(sqs, 0)
            if more is None:
                break
            uris += more
        return list(dict.fromkeys(uris))

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = await asyncio.to_thread(self.hook)
        sqs = await asyncio.to_thread(lambda: hook.sqs)
        # The receive long-polls (wait_seconds): no pause between good reads.
        async for csv_uris in apoll(lambda: self._receive_new_csvs(sqs), interval=0,
                                    error_interval=self.wait_seconds or 1, what=self.queue_url, log=self.log):
            if csv_uris:
                csvs = await asyncio.to_thread(describe_landed_csvs, hook.s3, csv_uris)
                self.log.info("New CSVs in S3 (oldest first): %s", ", ".join(csv.uri for csv in csvs))
                yield TriggerEvent({"status": "success", "csv_uris": [csv.uri for csv in csvs],
                                    "csvs": [csv.model_dump(mode="json") for csv in csvs]})
                return
