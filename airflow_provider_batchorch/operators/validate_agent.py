"""Step 2: find the agent in the registry and check that it can produce CSV columns (structured output)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow_provider_batchorch.aws.registry_table import load_configured_registry_table
from airflow_provider_batchorch.aws.s3_text import s3_object_text
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.batch_estimate import estimate_batch
from airflow_provider_batchorch.core.cost_estimate import CostEstimate, describe_estimate
from airflow_provider_batchorch.core.registry import AgentRegistry
from airflow_provider_batchorch.core.registry_trust import RegistryTrust
from airflow_provider_batchorch.core.task_outputs import AnalyzeResult, ValidateResult
from airflow_provider_batchorch.hooks.batchorch import BatchorchHook
from airflow_provider_batchorch.hooks.llm_connection import connection_model

if TYPE_CHECKING:
    from airflow.sdk import Context


class ValidateAgentOperator(AwsBaseOperator[BatchorchHook]):
    """Resolve ``agent`` in the registry; fail with UNKNOWN_AGENT, INCOMPATIBLE_AGENT or UNTRUSTED_AGENT.

    The registry (``agents.registry_loader.assemble_registry``): the built-in agents, the configured registry files
    (``registry_files`` and ``BATCHORCH_REGISTRY_FILES``), the DynamoDB AgentRegistry table (``registry_table``,
    else ``BATCHORCH_REGISTRY_TABLE``, else the AWS connection extra ``batchorch_registry_table``) -- each
    overriding the one before -- then ``registry``, which comes from the run conf and is untrusted: its agents
    may only add agents, without Python code, calling targets on ``BATCHORCH_ALLOWED_AGENT_TARGETS``.

    :param agent: The agent's name (or an alias).
    :param registry: The run request's registry file, local path or ``s3://bucket/key.yaml`` (untrusted).
    :param registry_files: Registry files the DAG author trusts (local paths or ``s3://``); not templated.
    :param registry_table: A DynamoDB AgentRegistry table (PK ``agent_name``, SK ``version``), or ``None`` for the
        operator's setting. Not templated: the table is trusted, so a run conf must not be able to pick it.
    :param analysis: ``analyze_csv``'s result (request and profile): with it the batch's cost is estimated
        (tokens x price table, realtime and batch_api), logged and returned before any row is sent.
    :return: A ``ValidateResult`` dump: the ``AgentSpec``, ``registry.describe(agent)`` and the cost estimate.
    """

    aws_hook_class = BatchorchHook
    template_fields: Sequence[str] = aws_template_fields("agent", "registry", "analysis")
    ui_color = "#eaf7ea"

    def __init__(
        self,
        *,
        agent: str,
        registry: str | None = None,
        registry_files: Sequence[str] = (),
        registry_table: str | None = None,
        analysis: dict[str, Any] | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.analysis = analysis
        self.agent = agent
        self.registry = registry
        self.registry_files = list(registry_files)
        self.registry_table = registry_table

    def execute(self, context: Context) -> dict[str, Any]:
        registry = self.resolve_registry()
        spec = registry.validate(self.agent)
        self.log.info(
            "Agent %s v%s: structured output with fields [%s]; inputs [%s]",
            spec.name,
            spec.version,
            ", ".join(spec.output_fields),
            ", ".join(f"{f.name}{'' if f.required else '?'}" for f in spec.input_fields),
        )
        estimate = self.estimate(spec)
        return ValidateResult(agent=spec, description=registry.describe(spec.name),
                              cost_estimate=estimate).model_dump(mode="json")

    def estimate(self, spec: AgentSpec) -> CostEstimate | None:
        if not self.analysis:
            return None
        analysis = AnalyzeResult.model_validate(self.analysis)
        estimate = estimate_batch(analysis.request, analysis.profile, spec, model=connection_model(spec))
        self.log.info("Cost estimate: %s", describe_estimate(estimate))
        return estimate

    def resolve_registry(self) -> AgentRegistry:
        return deployment_registry(self.hook, self.registry_files, self.registry_table, requested=self.registry)


def deployment_registry(hook: BatchorchHook, registry_files: Sequence[str], registry_table: str | None, *,
                        requested: str | None = None) -> AgentRegistry:
    """``assemble_registry`` as a task sees it: the configured files and table through ``hook``; ``requested`` (a
    run conf's registry) is checked as untrusted. Without it: the trusted agents only (a golden_judge's registry)."""
    from airflow_provider_batchorch.agents.registry_loader import assemble_registry  # the built-in agents

    table = load_configured_registry_table(hook.dynamodb, registry_table, hook.conn_config.extra_config)
    return assemble_registry(requested, trust=RegistryTrust.from_env(registry_files=registry_files),
                             table=table, read_s3=lambda uri: s3_object_text(hook.s3, uri))
