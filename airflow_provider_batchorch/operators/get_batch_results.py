"""Step 6: stitch the chunk parts into the output CSV and summarise the batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow_provider_batchorch.aws.job_records import record_job
from airflow_provider_batchorch.core.models import BatchConfig
from airflow_provider_batchorch.core.summary import summary_text
from airflow_provider_batchorch.hooks.batch_metrics import emit_metrics
from airflow_provider_batchorch.hooks.batchorch import BatchorchHook
from airflow_provider_batchorch.links.batch_execution import BatchExecutionLink

if TYPE_CHECKING:
    from airflow.sdk import Context


class GetBatchResultsOperator(AwsBaseOperator[BatchorchHook]):
    """Assemble the output CSV (every input row, in order) in S3 and return the ``BatchSummary``.

    :param config: The ``BatchConfig`` dump (``configure_batch``'s ``config``).
    :param execution_arn: The batch's execution (``execute_batch``'s return value).
    :return: The ``BatchSummary`` dump: status SUCCEEDED or COMPLETED_WITH_ERRORS, counts, output URI.
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
        from airflow_provider_batchorch.aws.results import assemble_results  # pyarrow, numpy: not at DAG parse

        BatchExecutionLink.persist_for(context, self, self.execution_arn)
        config = BatchConfig.model_validate(self.config)
        summary = assemble_results(self.hook.s3, self.hook.sfn, config, self.execution_arn)
        log = self.log.info if summary.status == "SUCCEEDED" else self.log.warning
        for line in summary_text(summary).splitlines():
            log("%s", line)
        record_job(self.hook, config, execution_arn=self.execution_arn, summary=summary,
                   dag_id=context["ti"].dag_id, run_id=context["run_id"], emit=emit_metrics)
        return summary.model_dump(mode="json")
