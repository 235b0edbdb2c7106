"""Step 5: wait for the batch's execution, logging rows processed / total / percent / ETA."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.sensors.base_aws import AwsBaseSensor
from airflow.providers.amazon.aws.utils import validate_execute_complete_event
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.common.compat.sdk import PokeReturnValue
from airflow_provider_batchorch.aws.processor import ProcessorNames
from airflow_provider_batchorch.aws.progress import read_progress
from airflow_provider_batchorch.core.errors import ExecutionFailedError
from airflow_provider_batchorch.core.execution_status import FAILED, SUCCEEDED
from airflow_provider_batchorch.core.models import BatchConfig, Progress
from airflow_provider_batchorch.core.progress import progress_line
from airflow_provider_batchorch.hooks.batchorch import BatchorchHook
from airflow_provider_batchorch.links.batch_execution import BatchExecutionLink
from airflow_provider_batchorch.triggers.batch_execution import BatchExecutionTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context


def execution_failed(execution_arn: str, status: str, error: str | None, cause: str | None) -> ExecutionFailedError:
    name = execution_arn.rsplit(":", 1)[-1]
    return ExecutionFailedError(
        f"execution {name} ended {status}: {error or 'no error code'}: {cause or 'no cause given'}.",
        hint="Open the task's 'Step Functions Execution' link for the failing state; rows already processed "
        "are kept in S3 and a retry of the DAG run starts a new execution.",
        details={"execution_arn": execution_arn, "status": status, "error": error, "cause": cause},
    )


class BatchExecutionSensor(AwsBaseSensor[BatchorchHook]):
    """Wait until the execution ends; fail with its error and cause on FAILED, TIMED_OUT or ABORTED.

    Deferrable by default: the wait happens in the triggerer (``BatchExecutionTrigger``), no worker slot held.

    :param execution_arn: The batch's execution (``execute_batch``'s return value).
    :param config: The ``BatchConfig`` dump (``configure_batch``'s ``config``).
    :param progress_table: The processor's DynamoDB progress table.
    :param deferrable: Wait in the triggerer (default) instead of poking from a worker.
    :return: The final ``Progress`` dump.
    """

    aws_hook_class = BatchorchHook
    template_fields: Sequence[str] = aws_template_fields("execution_arn", "config", "progress_table")
    operator_extra_links = (BatchExecutionLink(),)
    ui_color = "#f9e4a0"

    def __init__(
        self,
        *,
        execution_arn: str,
        config: dict[str, Any],
        progress_table: str = ProcessorNames().progress_table,
        deferrable: bool = True,
        poke_interval: float = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, **kwargs)
        self.execution_arn = execution_arn
        self.config = config
        self.progress_table = progress_table
        self.deferrable = deferrable

    def execute(self, context: Context) -> Any:
        BatchExecutionLink.persist_for(context, self, self.execution_arn)
        if not self.deferrable:
            return super().execute(context)
        done = self.poke(context)
        if done:
            return done.xcom_value
        self.defer(
            trigger=BatchExecutionTrigger(
                execution_arn=self.execution_arn,
                config=self.config,
                progress_table=self.progress_table,
                poll_interval=self.poke_interval,
                aws_conn_id=self.aws_conn_id,
                region_name=self.region_name,
                verify=self.verify,
                botocore_config=self.botocore_config,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def poke(self, context: Context) -> PokeReturnValue | bool:
        config = BatchConfig.model_validate(self.config)
        progress = read_progress(self.hook.sfn, self.hook.dynamodb, self.progress_table, self.execution_arn, config)
        self.log.info("Batch %s %s", config.batch_id, progress_line(progress))
        if progress.status in FAILED:
            described = self.hook.sfn.describe_execution(executionArn=self.execution_arn)
            raise execution_failed(self.execution_arn, progress.status, described.get("error"), described.get("cause"))
        if progress.status == SUCCEEDED:
            return PokeReturnValue(is_done=True, xcom_value=progress.model_dump(mode="json"))
        return False

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        event = validate_execute_complete_event(event)
        if event["status"] != "success":
            raise execution_failed(event["execution_arn"], event["execution_status"], event["error"], event["cause"])
        progress = Progress.model_validate(event["progress"])
        self.log.info("Execution finished: %s", progress_line(progress))
        return progress.model_dump(mode="json")
