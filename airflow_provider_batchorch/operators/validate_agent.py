"""Step 2: find the agent in the registry and check that it can produce CSV columns (structured output)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow_provider_batchorch.aws.registry_table import load_registry_table
from airflow_provider_batchorch.aws.s3_uri import parse_s3_uri
from airflow_provider_batchorch.core.registry import (
    AgentRegistry,
    builtin_registry,
    load_registry_text,
    resolve_registry,
)
from airflow_provider_batchorch.hooks.batchorch import BatchorchHook

if TYPE_CHECKING:
    from airflow.sdk import Context


class ValidateAgentOperator(AwsBaseOperator[BatchorchHook]):
    """Resolve ``agent`` in the registry; fail with UNKNOWN_AGENT or INCOMPATIBLE_AGENT (and suggestions).

    The registry is the built-in agents, plus ``registry`` (a YAML/JSON file: local path or ``s3://``), plus
    the DynamoDB table ``registry_table`` when set; later sources override earlier ones.

    :param agent: The agent's name (or an alias).
    :param registry: A registry file, local path or ``s3://bucket/key.yaml``.
    :param registry_table: A DynamoDB AgentRegistry table (PK ``agent_name``, SK ``version``), or ``None``.
    :return: ``{"agent": AgentSpec dump, "description": registry.describe(agent)}``
    """

    aws_hook_class = BatchorchHook
    template_fields: Sequence[str] = aws_template_fields("agent", "registry", "registry_table")
    ui_color = "#eaf7ea"

    def __init__(
        self,
        *,
        agent: str,
        registry: str | None = None,
        registry_table: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.agent = agent
        self.registry = registry
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
        return {"agent": spec.model_dump(mode="json"), "description": registry.describe(spec.name)}

    def resolve_registry(self) -> AgentRegistry:
        if self.registry and self.registry.startswith("s3://"):
            bucket, key = parse_s3_uri(self.registry)
            text = self.hook.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8-sig")
            registry = builtin_registry().merged(load_registry_text(text, self.registry))
        else:
            registry = resolve_registry(self.registry or None)
        if self.registry_table:
            registry = registry.merged(load_registry_table(self.hook.dynamodb, self.registry_table))
        return registry
