"""Waits for a batch's Step Functions execution in the triggerer, logging row-level progress on every poll."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent
from airflow_provider_batchorch.aws.polling import apoll
from airflow_provider_batchorch.aws.progress import read_progress
from airflow_provider_batchorch.core.execution_status import SUCCEEDED, is_final
from airflow_provider_batchorch.core.models import BatchConfig, Progress
from airflow_provider_batchorch.core.progress import progress_line
from airflow_provider_batchorch.triggers._aws_connection import AwsConnectionFields
from airflow_provider_batchorch.hooks.batchorch import BatchorchHook

class BatchExecutionTrigger(AwsConnectionFields, BaseTrigger):
    """Poll the execution and its progress counters until the execution ends; fire one event.

    The event is ``{"status": "success" | "failure", "execution_arn", "execution_status", "progress",
    "error", "cause"}``.

    :param execution_arn: The batch's Step Functions execution.
    :param config: The ``BatchConfig`` dump (total rows, batch id).
    :param progress_table: The processor's DynamoDB progress table.
    :param poll_interval: Seconds between polls.
    """

    def __init__(
        self,
        *,
        execution_arn: str,
        config: dict[str, Any],
        progress_table: str,
        poll_interval: float = 10.0,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict | None = None,
    ) -> None:
        super().__init__()
        self.execution_arn = execution_arn
        self.config = config
        self.progress_table = progress_table
        self.poll_interval = poll_interval
        self.set_aws_connection(aws_conn_id=aws_conn_id, region_name=region_name, verify=verify,
                                botocore_config=botocore_config)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "execution_arn": self.execution_arn,
                "config": self.config,
                "progress_table": self.progress_table,
                "poll_interval": self.poll_interval,
                **self.aws_connection_kwargs(),
            },
        )

    def _read_progress(self, hook: BatchorchHook, config: BatchConfig) -> Progress:
        return read_progress(hook.sfn, hook.dynamodb, self.progress_table, self.execution_arn, config)

    def _describe_execution(self, hook: BatchorchHook) -> dict[str, Any]:
        return hook.sfn.describe_execution(executionArn=self.execution_arn)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        config = BatchConfig.model_validate(self.config)
        hook = self.hook()
        # boto3 and the connection lookup are blocking: apoll reads in a thread, off the triggerer's event loop.
        async for progress in apoll(lambda: self._read_progress(hook, config), interval=self.poll_interval,
                                    what=self.execution_arn, log=self.log):
            self.log.info("Batch %s %s", config.batch_id, progress_line(progress))
            if is_final(progress.status):
                break
        event: dict[str, Any] = {
            "status": "success" if progress.status == SUCCEEDED else "failure",
            "execution_arn": self.execution_arn,
            "execution_status": progress.status,
            "progress": progress.model_dump(mode="json"),
            "error": None,
            "cause": None,
        }
        if progress.status != SUCCEEDED:
            described = await asyncio.to_thread(self._describe_execution, hook)
            event["error"] = described.get("error")
            event["cause"] = described.get("cause")
        yield TriggerEvent(event)
