"""Which execution mode a batch runs in, and which batch API its agent's model has.

``realtime`` calls the agent once per row. ``batch_api`` submits the rows to the provider's asynchronous batch
API first (OpenAI-compatible ``/v1/files`` + ``/v1/batches``, Bedrock ``CreateModelInvocationJob``); the rows it
does not answer in time, or answers invalidly, are called in real time. ``auto`` picks ``batch_api`` when all
of these hold, else ``realtime``:

- the agent is an ``llm`` agent whose model has a batch API (``batch_provider``);
- the batch has at least ``AUTO_MIN_ROWS`` rows (below that the wait is not worth it; Bedrock also refuses
  jobs under 100 records);
- the price table knows the model and its batch discount, and the estimated saving (real-time estimate minus
  batch estimate, ``core.cost_estimate``) is at least ``AUTO_MIN_SAVING_USD``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.batch_api.models import BatchProvider, ExecutionMode, ResolvedMode
from airflow_provider_batchorch.core.cost_estimate import ModelPrice, estimate_cost
from airflow_provider_batchorch.core.errors import BatchApiUnavailableError

AUTO_MIN_ROWS = 1000
AUTO_MIN_SAVING_USD = 0.50
OPENAI_COMPATIBLE = ("openai", "openai-chat", "openai-compatible", "vllm")
# Bedrock batch inference takes each model family's own request body; the Anthropic Messages body is built here.
BEDROCK_BATCH_FAMILIES = ("anthropic.",)


def batch_provider(agent: AgentSpec) -> BatchProvider | None:
    """``openai`` for a model on an OpenAI-compatible endpoint (``base_url`` or ``openai:``), ``bedrock`` for a
    ``bedrock:`` Anthropic model, None otherwise (not an llm agent, ``test``, another pydantic-ai provider)."""
    invocation = agent.invocation
    model = getattr(invocation, "model", None) if invocation.kind == "llm" else None
    if not model or model == "test":
        return None
    prefix, colon, bare = model.partition(":")
    if colon and prefix == "bedrock":
        return "bedrock" if any(family in bare for family in BEDROCK_BATCH_FAMILIES) else None
    if getattr(invocation, "base_url", None) or (colon and prefix in OPENAI_COMPATIBLE):
        return "openai"
    return None


def choose_execution_mode(
    mode: ExecutionMode,
    agent: AgentSpec,
    *,
    rows: int,
    sample_rows: list[dict[str, Any]] | None = None,
    input_mapping: Mapping[str, str] | None = None,
    prices: Mapping[str, ModelPrice] | None = None,
) -> tuple[ResolvedMode, str]:
    """(``realtime`` | ``batch_api``, why). ``batch_api`` for an agent without a batch API is refused."""
    provider = batch_provider(agent)
    if mode == "realtime":
        return "realtime", "requested"
    if mode == "batch_api":
        if provider is None:
            raise BatchApiUnavailableError(
                f"agent {agent.name!r} has no batch API: execution_mode batch_api needs an llm agent on an "
                "OpenAI-compatible endpoint or a bedrock: Anthropic model.",
                hint="Use execution_mode realtime (or auto, which falls back to it).",
            )
        return "batch_api", f"requested ({provider} batch API)"
    if provider is None:
        return "realtime", "auto: the agent's model has no batch API"
    if rows < AUTO_MIN_ROWS:
        return "realtime", f"auto: {rows} rows is fewer than {AUTO_MIN_ROWS}"
    estimate = estimate_cost(agent, rows=rows, sample_rows=sample_rows, input_mapping=input_mapping, prices=prices)
    realtime, batch = (estimate.cost_usd_by_mode.get(name) for name in ("realtime", "batch_api"))
    if realtime is None or batch is None:
        return "realtime", f"auto: no price (or batch discount) known for {estimate.model}"
    saving = realtime - batch
    if saving < AUTO_MIN_SAVING_USD:
        return "realtime", f"auto: the batch API would save ${saving:.2f}, less than ${AUTO_MIN_SAVING_USD:.2f}"
    return "batch_api", f"auto: {rows} rows, the {provider} batch API saves ~${saving:.2f} of ${realtime:.2f}"
