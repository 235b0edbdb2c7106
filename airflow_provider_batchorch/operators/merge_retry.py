"""After a ``retry-failed`` run: put the retried rows back into the previous output, in their places."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow_provider_batchorch.aws.retry_failed import RetryPlan, merge_retry
from airflow_provider_batchorch.core.models import BatchSummary
from airflow_provider_batchorch.hooks.batchorch import BatchorchHook

if TYPE_CHECKING:
    from airflow.sdk import Context


class MergeRetriedRowsOperator(AwsBaseOperator[BatchorchHook]):
    """Write the complete output of a retried batch: the previous output with its failed rows replaced.

    :param retry_plan: The ``RetryPlan`` dump of the retry (``None``: not a retry, nothing to do).
    :param summary: The retry batch's ``BatchSummary`` dump (``get_results``).
    :return: The ``RetryOutcome`` dump (fixed / still failing / where the merged output is), or ``None``.
    """

    aws_hook_class = BatchorchHook
    template_fields: Sequence[str] = aws_template_fields("retry_plan", "summary")

    def __init__(self, *, retry_plan: dict[str, Any] | str | None, summary: dict[str, Any] | str,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.retry_plan = retry_plan
        self.summary = summary

    def execute(self, context: Context) -> dict[str, Any] | None:
        if not self.retry_plan:
            self.log.info("Not a retry: nothing to merge")
            return None
        plan = RetryPlan.model_validate(self.retry_plan)
        summary = BatchSummary.model_validate(self.summary)
        outcome = merge_retry(self.hook.s3, plan, summary.output_csv_uri)
        self.log.info("Merged %d retried rows (%d fixed) into %s", outcome.retried, outcome.fixed, outcome.output)
        return outcome.model_dump(mode="json")
