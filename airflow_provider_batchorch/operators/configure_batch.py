"""Step 3: map CSV columns to the agent's inputs, pick output fields, plan concurrency, stage the batch in S3."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow_provider_batchorch.aws.batch_store import load_profile, stage_batch
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.configure import build_batch_config, header_renames, work_chunks
from airflow_provider_batchorch.core.cost_estimate import CostEstimate
from airflow_provider_batchorch.core.models import BatchRequest
from airflow_provider_batchorch.core.task_outputs import ConfigureResult
from airflow_provider_batchorch.hooks.batchorch import BatchorchHook

if TYPE_CHECKING:
    from airflow.sdk import Context


class ConfigureBatchOperator(AwsBaseOperator[BatchorchHook]):
    """Build the validated ``BatchConfig`` and write it, with the chunk manifest, under ``prefix_uri``.

    :param request: The validated run request (``analyze_csv``'s ``request``).
    :param profile_uri: The full CSV profile in S3 (``analyze_csv``'s ``profile_uri``), chunks included.
    :param agent: The agent spec (``validate_agent``'s ``agent``).
    :param batch_id: The batch id (``analyze_csv``'s ``batch_id``).
    :param prefix_uri: Where the batch's files live (``analyze_csv``'s ``prefix_uri``).
    :param cost_estimate: ``validate_agent``'s ``cost_estimate``, kept in the config for the summary's estimated
        vs actual cost; ``None`` estimates here with the agent's own model.
    :return: A ``ConfigureResult`` dump: the ``BatchConfig`` and the manifest's URI.
    """

    aws_hook_class = BatchorchHook
    template_fields: Sequence[str] = aws_template_fields(
        "request", "profile_uri", "agent", "batch_id", "prefix_uri", "cost_estimate"
    )
    ui_color = "#fdf3e8"

    def __init__(
        self,
        *,
        request: dict[str, Any],
        profile_uri: str,
        agent: dict[str, Any],
        batch_id: str,
        prefix_uri: str,
        cost_estimate: dict[str, Any] | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.cost_estimate = cost_estimate
        self.request = request
        self.profile_uri = profile_uri
        self.agent = agent
        self.batch_id = batch_id
        self.prefix_uri = prefix_uri

    def execute(self, context: Context) -> dict[str, Any]:
        request = BatchRequest.model_validate(self.request)
        agent = AgentSpec.model_validate(self.agent)
        profile = load_profile(self.hook.s3, self.profile_uri)
        estimate = CostEstimate.model_validate(self.cost_estimate) if self.cost_estimate else None
        config = build_batch_config(request, profile, agent, batch_id=self.batch_id, prefix_uri=self.prefix_uri,
                                    cost_estimate=estimate)
        manifest_uri = stage_batch(self.hook.s3, config, work_chunks(profile, config))
        self.log.info(
            "Batch %s: %d rows in %d chunks; inputs %s; output fields [%s]; %d agent calls in flight "
            "(%d chunks x %d rows); %ss per row; output -> %s; manifest %s",
            config.batch_id,
            config.total_rows,
            config.chunk_count,
            ", ".join(f"{field} <- {column!r}" for field, column in config.input_mapping.items()),
            ", ".join(config.output_fields),
            config.concurrency,
            config.chunk_concurrency,
            config.row_concurrency,
            config.timeout_seconds,
            config.output_uri,
            manifest_uri,
        )
        if renames := header_renames(config):
            self.log.warning("Output header names changed so that none is repeated or runs as a formula: %s",
                             ", ".join(f"{name!r} -> {header!r}" for name, header in renames.items()))
        return ConfigureResult(config=config, manifest_uri=manifest_uri).model_dump(mode="json")
