"""Step 6: stitch the chunk parts into the output CSV and summarise the batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow_provider_batchorch.aws.results import assemble_results
from airflow_provider_batchorch.core.models import BatchConfig, BatchSummary
from airflow_provider_batchorch.hooks.batchorch import BatchorchHook
from airflow_provider_batchorch.links.batch_execution import BatchExecutionLink

if TYPE_CHECKING:
    from airflow.sdk import Context

_HEADLINES = {
    "SUCCEEDED": "Batch processing complete!",
    "COMPLETED_WITH_ERRORS": "Batch processing complete, with errors.",
    "FAILED": "Batch processing failed.",
}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def human_duration(seconds: float) -> str:
    """``4 minutes 32 seconds``"""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [_plural(hours, "hour")] if hours else []
    if minutes or hours:
        parts.append(_plural(minutes, "minute"))
    parts.append(_plural(secs, "second"))
    return " ".join(parts)


def summary_lines(summary: BatchSummary) -> list[str]:
    """The summary as the seed's orchestrator reports it, one log line each."""
    total = summary.rows_processed or 1
    lines = [
        f"{_HEADLINES[summary.status]} {summary.message}",
        f"- Succeeded: {_plural(summary.rows_succeeded, 'row')} ({100 * summary.rows_succeeded / total:.1f}%)",
        f"- Failed: {_plural(summary.rows_failed, 'row')} ({100 * summary.rows_failed / total:.1f}%)",
        f"- Output file: {summary.output_csv_uri}",
        f"- Processing time: {human_duration(summary.processing_time_seconds)}",
        f"- Columns added by {summary.agent}: {', '.join(summary.output_fields)}, then _status, _error_message "
        "and processing metadata",
    ]
    if summary.failure_reasons:
        lines.append(f"Failures ({summary.error_details_location or 'see the _error_message column'}):")
        for reason, count in sorted(summary.failure_reasons.items(), key=lambda item: -item[1]):
            lines.append(f"- {_plural(count, 'row')}: {reason}")
    if summary.retry_suggestion:
        lines.append(f"Next step: {summary.retry_suggestion}")
    return lines


class GetBatchResultsOperator(AwsBaseOperator[BatchorchHook]):
    """Assemble the output CSV (every input row, in order) in S3 and return the ``BatchSummary``.

    :param config: The ``BatchConfig`` dump (``configure_batch``'s ``config``).
    :param execution_arn: The batch's execution (``execute_batch``'s return value).
    :return: The ``BatchSummary`` dump: status SUCCEEDED / COMPLETED_WITH_ERRORS / FAILED, counts, output URI.
    """

    aws_hook_class = BatchorchHook
    template_fields: Sequence[str] = aws_template_fields("config", "execution_arn")
    operator_extra_links = (BatchExecutionLink(),)
    ui_color = "#e6f7e6"

    def __init__(self, *, config: dict[str, Any], execution_arn: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.execution_arn = execution_arn

    def execute(self, context: Context) -> dict[str, Any]:
        BatchExecutionLink.persist(
            context=context,
            operator=self,
            region_name=self.hook.conn_region_name,
            aws_partition=self.hook.conn_partition,
            execution_arn=self.execution_arn,
        )
        config = BatchConfig.model_validate(self.config)
        summary = assemble_results(self.hook.s3, self.hook.sfn, config, self.execution_arn)
        log = self.log.warning if summary.status != "SUCCEEDED" else self.log.info
        for line in summary_lines(summary):
            log("%s", line)
        return summary.model_dump(mode="json")
