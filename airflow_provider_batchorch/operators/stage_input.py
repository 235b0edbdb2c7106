"""Pipeline step between stages: the previous stage's output, header renamed, becomes this stage's input."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.sdk.exceptions import AirflowSkipException
from airflow_provider_batchorch.aws.stage_handoff import hand_off_stage_output
from airflow_provider_batchorch.core.models import BatchSummary
from airflow_provider_batchorch.core.task_outputs import PipelinePlan
from airflow_provider_batchorch.hooks.batchorch import BatchorchHook

if TYPE_CHECKING:
    from airflow.sdk import Context


class StageInputOperator(AwsBaseOperator[BatchorchHook]):
    """Write stage ``index``'s input CSV: the previous stage's output with its metadata (and any field a later
    stage writes too) renamed, per the plan. Skipped, with the rest of its stage, when the conf has fewer stages.

    :param plan: ``plan_pipeline``'s return value.
    :param index: This stage's 0-based index (1 or more: the first stage reads the pipeline's CSV).
    :param previous_summary: The previous stage's ``get_results`` return value.
    :return: The input CSV's URI.
    """

    aws_hook_class = BatchorchHook
    template_fields: Sequence[str] = aws_template_fields("plan", "previous_summary")
    ui_color = "#efe6fa"

    def __init__(self, *, plan: dict[str, Any] | str, index: int, previous_summary: dict[str, Any] | str | None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        self.index = index
        self.previous_summary = previous_summary

    def execute(self, context: Context) -> str:
        plan = PipelinePlan.model_validate(self.plan)
        if self.index >= plan.stage_count:
            raise AirflowSkipException(f"the pipeline has {plan.stage_count} stages")
        previous, stage = plan.stages[self.index - 1], plan.stages[self.index]
        source = BatchSummary.model_validate(self.previous_summary).output_csv_uri
        target = stage.request.csv_uri
        rows = hand_off_stage_output(self.hook.s3, source, target, previous.renames_after)
        self.log.info("Stage %s input: %d rows of %s, columns renamed %s -> %s", stage.name, rows, source,
                      previous.renames_after, target)
        return target
