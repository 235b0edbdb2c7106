"""``monitor_stream``: wait in the triggerer while the stream runs (throughput and lag in the log), then stop it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils import validate_execute_complete_event
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from airflow_provider_batchorch.aws.stream_resources import request_stop
from airflow_provider_batchorch.core.stream.config import StreamConfig
from airflow_provider_batchorch.core.stream.stats import StopRule, StreamStats, stats_line
from airflow_provider_batchorch.hooks.batchorch import BatchorchHook
from airflow_provider_batchorch.triggers.stream_progress import StreamProgressTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context


class MonitorStreamOperator(AwsBaseOperator[BatchorchHook]):
    """Defer to one ``StreamProgressTrigger`` until the stream's stop marker appears or its ``StopRule`` ends it;
    then write the stop marker (every worker finishes its rows in hand, writes its part and exits) and return the
    final figures.

    :param started: ``start_stream``'s return value (``config`` and ``started_at``).
    :param stop_rule: A ``StopRule`` (its dump): ``max_duration_seconds``, ``stop_after_idle_seconds``.
    :param poll_interval: Seconds between the trigger's polls.
    :return: The final ``StreamStats`` dump.
    """

    aws_hook_class = BatchorchHook
    template_fields: Sequence[str] = aws_template_fields("started", "stop_rule")

    def __init__(self, *, started: dict[str, Any] | str, stop_rule: dict[str, Any] | str | None = None,
                 poll_interval: float = 5.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.started = started
        self.stop_rule = stop_rule
        self.poll_interval = poll_interval

    def execute(self, context: Context) -> None:
        rule = StopRule.model_validate(self.stop_rule or {})
        self.defer(
            trigger=StreamProgressTrigger(
                config=self.started["config"], started_at=self.started["started_at"],
                stop_rule=rule.model_dump(mode="json"), poll_interval=self.poll_interval,
                aws_conn_id=self.aws_conn_id, region_name=self.region_name, verify=self.verify,
                botocore_config=self.botocore_config,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=rule.max_duration_seconds + 3600) if rule.max_duration_seconds else None,
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        event = validate_execute_complete_event(event)
        config = StreamConfig.model_validate(self.started["config"])
        request_stop(self.hook.s3, config, event["reason"])
        stats = StreamStats.model_validate(event["stats"])
        self.log.info("Stream stopped (%s): %s", event["reason"], stats_line(stats))
        return stats.model_dump(mode="json")
