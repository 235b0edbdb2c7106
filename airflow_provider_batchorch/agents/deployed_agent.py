"""What agents already deployed on AWS (Lambda, Step Functions) share: their invocation, one boto3 client with
botocore's own retries off (ours count throttles for the limiter), a retry policy and a concurrency limiter."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow_provider_batchorch.core.adaptive_concurrency import AdaptiveConcurrencyLimiter
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.errors import RegistryError
from airflow_provider_batchorch.core.backoff import RetryPolicy


def agent_client(service: str, region: str | None = None, endpoint_url: str | None = None, **config: Any) -> Any:
    import boto3
    from botocore.config import Config

    retries = {"mode": "standard", "total_max_attempts": 1}
    return boto3.client(service, region_name=region, endpoint_url=endpoint_url,
                        config=Config(retries=retries, connect_timeout=10, **config))


class DeployedAgent:
    invocation_type: ClassVar[type]
    service: ClassVar[str]
    client_config: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        spec: AgentSpec,
        *,
        client: Any = None,
        retry_policy: RetryPolicy | None = None,
        limiter: AdaptiveConcurrencyLimiter | None = None,
    ) -> None:
        invocation = spec.invocation
        if not isinstance(invocation, self.invocation_type):
            raise RegistryError(
                f"agent {spec.name!r} is not a {self.invocation_type.model_fields['kind'].default} agent "
                f"(invocation kind {invocation.kind!r})."
            )
        self.invocation = invocation
        self.client = client or agent_client(self.service, invocation.region, invocation.endpoint_url,
                                             **self.client_config)
        self.retry_policy = retry_policy or RetryPolicy(max_attempts=invocation.max_attempts)
        self.limiter = limiter or AdaptiveConcurrencyLimiter(max_limit=1000)
