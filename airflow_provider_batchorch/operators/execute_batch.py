"""Step 4: make sure the batch processor exists and start (or re-attach to) this DAG run's execution."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow_provider_batchorch.aws.job_records import record_job
from airflow_provider_batchorch.aws.processor import (
    ProcessorNames,
    ensure_processor,
    execution_name,
    start_or_attach_execution,
)
from airflow_provider_batchorch.core.models import BatchConfig
from airflow_provider_batchorch.hooks.batch_metrics import emit_metrics
from airflow_provider_batchorch.hooks.batchorch import BatchorchHook
from airflow_provider_batchorch.links.batch_execution import BatchExecutionLink

if TYPE_CHECKING:
    from airflow.sdk import Context


class ExecuteBatchOperator(AwsBaseOperator[BatchorchHook]):
    """Deploy what is missing of the processor (state machine, queues, progress table) and start the batch.

    The execution is named after the DAG run, so a retried task finds the execution its first try started
    and returns it instead of starting a second one.

    :param config: The batch config (``configure_batch``'s ``config``).
    :param manifest_uri: The chunk manifest (``configure_batch``'s ``manifest_uri``).
    :param name: The execution name; ``None`` derives it from the DAG id and run id.
    :param processor_names: Names of the processor's resources (``ProcessorNames``); defaults if ``None``.
    :return: The execution ARN.
    """

    aws_hook_class = BatchorchHook
    template_fields: Sequence[str] = aws_template_fields("config", "manifest_uri", "name", "processor_names")
    operator_extra_links = (BatchExecutionLink(),)
    ui_color = "#f9c915"

    def __init__(
        self,
        *,
        config: dict[str, Any],
        manifest_uri: str,
        name: str | None = None,
        processor_names: dict[str, Any] | ProcessorNames | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.manifest_uri = manifest_uri
        self.name = name
        self.processor_names = processor_names

    def execute(self, context: Context) -> str:
        config = BatchConfig.model_validate(self.config)
        names = ProcessorNames.model_validate(self.processor_names or {})
        refs = ensure_processor(self.hook.sfn, self.hook.sqs, self.hook.dynamodb, names)
        name = self.name or execution_name(context["ti"].dag_id, context["run_id"])
        arn, attached = start_or_attach_execution(self.hook.sfn, refs, config, self.manifest_uri, name)
        BatchExecutionLink.persist_for(context, self, arn)
        if attached:
            self.log.info("Re-attached to the execution this DAG run already started: %s", arn)
        else:
            self.log.info(
                "Started batch %s on %s: %d rows, %d chunks, %d agent calls in flight: %s",
                config.batch_id,
                refs.state_machine_arn,
                config.total_rows,
                config.chunk_count,
                config.concurrency,
                arn,
            )
        record_job(self.hook, config, execution_arn=arn, progress_table=refs.progress_table,
                   dag_id=context["ti"].dag_id, run_id=context["run_id"], emit=emit_metrics)
        return arn
