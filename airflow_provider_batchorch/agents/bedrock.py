"""Amazon Bedrock for LLM agents: pydantic-ai's Converse model over a boto3 ``bedrock-runtime`` client.

botocore's own retries are turned off (one attempt per call): throttling and transient faults are retried by
``core.backoff`` so that the adaptive concurrency limiter sees them.
"""

from __future__ import annotations

from typing import Any

# botocore keeps 10 connections by default: with more rows in flight every extra request opened a new TCP
# connection and threw it away (and logged "Connection pool is full"). Kept connections cost nothing until used.
MAX_POOL_CONNECTIONS = 512


def bedrock_runtime_client(
    region: str | None = None, endpoint_url: str | None = None, *, read_timeout: float = 120.0
) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        read_timeout=read_timeout,
        connect_timeout=10,
        max_pool_connections=MAX_POOL_CONNECTIONS,
    )
    return boto3.client("bedrock-runtime", region_name=region, endpoint_url=endpoint_url, config=config)


def bedrock_model(
    model_name: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    client: Any = None,
    read_timeout: float = 120.0,
) -> Any:
    """A pydantic-ai ``BedrockConverseModel`` for ``model_name`` (an id or inference profile, no ``bedrock:``)."""
    from pydantic_ai.models.bedrock import BedrockConverseModel
    from pydantic_ai.providers.bedrock import BedrockProvider

    client = client or bedrock_runtime_client(region, endpoint_url, read_timeout=read_timeout)
    return BedrockConverseModel(model_name, provider=BedrockProvider(bedrock_client=client))
