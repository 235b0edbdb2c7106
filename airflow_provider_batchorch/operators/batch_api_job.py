"""Step 3b (cost mode): submit the rows to the provider's batch API, wait for it deferred, store its answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow_provider_batchorch.core.batch_api.mode import batch_provider
from airflow_provider_batchorch.core.batch_api.models import BatchApiOutcome
from airflow_provider_batchorch.core.models import BatchConfig
from airflow_provider_batchorch.hooks.batchorch import BatchorchHook

if TYPE_CHECKING:
    from airflow.sdk import Context


class BatchApiJobOperator(AwsBaseOperator[BatchorchHook]):
    """In cost mode (``execution_mode`` batch_api, or auto's choice) submit one request per distinct agent input
    as a batch job, defer to ``LlmBatchJobTrigger`` until it ends or its deadline passes, then validate and
    store its answers where the workers look first; the batch's other rows run in real time. Otherwise a no-op.

    :param config: The batch config (``configure_batch``'s ``config``).
    :param manifest_uri: The chunk manifest (``configure_batch``'s ``manifest_uri``).
    :param poll_interval: Seconds between the trigger's polls of the job.
    :return: A ``BatchApiOutcome`` dump.
    """

    aws_hook_class = BatchorchHook
    template_fields: Sequence[str] = aws_template_fields("config", "manifest_uri")
    ui_color = "#eaf1fb"

    def __init__(self, *, config: dict[str, Any], manifest_uri: str, poll_interval: float = 60.0,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.manifest_uri = manifest_uri
        self.poll_interval = poll_interval

    def execute(self, context: Context) -> dict[str, Any]:
        # Execute-time imports: the job code pulls in the CSV reader and the LLM clients, which the DAG file's
        # parse must not pay for (tests/dag_builders/test_dags_folder.py).
        from airflow_provider_batchorch.aws.batch_api_job import load_job, submit_batch_job
        from airflow_provider_batchorch.triggers.llm_batch_job import LlmBatchJobTrigger

        config = BatchConfig.model_validate(self.config)
        if config.execution_mode != "batch_api":
            return BatchApiOutcome(status="not_submitted", note=f"realtime: {config.execution_mode_reason}"
                                   ).model_dump(mode="json")
        job = load_job(self.hook.s3, config) or submit_batch_job(self.hook.s3, config, self.manifest_uri,
                                                                 bedrock=self._bedrock(config))
        if isinstance(job, BatchApiOutcome):
            return job.model_dump(mode="json")
        self.log.info("Cost mode (%s): %d requests in %s batch job %s; real time for the rest after %s",
                      config.execution_mode_reason, len(job.keys), job.provider, job.job_id, job.deadline_at)
        trigger = LlmBatchJobTrigger(job=job.model_dump(mode="json", exclude={"keys"}),
                                     agent=config.agent.model_dump(mode="json"), poll_interval=self.poll_interval,
                                     aws_conn_id=self.aws_conn_id, region_name=self.region_name)
        self.defer(trigger=trigger, method_name="execute_complete")

    def _bedrock(self, config: BatchConfig) -> Any:
        """The Bedrock client of the AWS connection, for a bedrock: model (None otherwise)."""
        if batch_provider(config.agent) != "bedrock":
            return None
        return self.hook.get_client_type("bedrock", region_name=getattr(config.agent.invocation, "region", None))

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        from airflow_provider_batchorch.aws.batch_api_job import collect_batch_job, load_job

        config = BatchConfig.model_validate(self.config)
        job = load_job(self.hook.s3, config)
        assert job is not None and job.job_id == event["job_id"], event
        outcome = collect_batch_job(self.hook.s3, config, job, event["status"], bedrock=self._bedrock(config))
        self.log.info("Batch job %s %s: %d of %d answered, %d invalid, %d without an answer (%s)", job.job_id,
                      outcome.status, outcome.answered, outcome.requests, outcome.invalid, outcome.failed,
                      outcome.failure_reasons)
        return outcome.model_dump(mode="json")
