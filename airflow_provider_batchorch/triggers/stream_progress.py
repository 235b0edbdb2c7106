"""Watches a running stream in the triggerer, logging throughput and lag on every poll, until it should stop."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent
from airflow_provider_batchorch.aws.polling import apoll
from airflow_provider_batchorch.aws.stream_progress import read_stream_stats
from airflow_provider_batchorch.core.stream.config import StreamConfig
from airflow_provider_batchorch.core.stream.stats import StopRule, StreamWatch, stats_line
from airflow_provider_batchorch.triggers._aws_connection import AwsConnectionFields


class StreamProgressTrigger(AwsConnectionFields, BaseTrigger):
    """Poll the stream's queue and its workers' progress records; fire one event when the stream's stop marker
    appears or its ``StopRule`` says so: ``{"status": "stopped", "reason", "stats"}``.

    :param config: The ``StreamConfig`` dump (start_stream's return value).
    :param started_at: When the stream started (epoch seconds): ``max_duration_seconds`` counts from there.
    :param stop_rule: A ``StopRule`` dump.
    :param poll_interval: Seconds between polls.
    """

    def __init__(self, *, config: dict[str, Any], started_at: float, stop_rule: dict[str, Any] | None = None,
                 poll_interval: float = 5.0, aws_conn_id: str | None = "aws_default", region_name: str | None = None,
                 verify: bool | str | None = None, botocore_config: dict | None = None) -> None:
        super().__init__()
        self.config = config
        self.started_at = started_at
        self.stop_rule = stop_rule or {}
        self.poll_interval = poll_interval
        self.set_aws_connection(aws_conn_id=aws_conn_id, region_name=region_name, verify=verify,
                                botocore_config=botocore_config)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {"config": self.config, "started_at": self.started_at, "stop_rule": self.stop_rule,
                 "poll_interval": self.poll_interval, **self.aws_connection_kwargs()})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        config = StreamConfig.model_validate(self.config)
        watch = StreamWatch(StopRule.model_validate(self.stop_rule), self.started_at)
        hook = self.hook()
        read = lambda: read_stream_stats(hook.s3, hook.sqs, hook.dynamodb, config)  # noqa: E731 - blocking boto3
        async for stats, stop_marker in apoll(read, interval=self.poll_interval, what=config.stream_id, log=self.log):
            reason = watch.observe(stats, time.time())
            if stop_marker:
                reason = "stop marker"
            self.log.info("%s", stats_line(stats))
            if reason:
                break
        yield TriggerEvent({"status": "stopped", "reason": reason, "stats": stats.model_dump(mode="json")})
