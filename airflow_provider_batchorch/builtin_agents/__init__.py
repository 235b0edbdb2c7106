"""The built-in agents: offline, deterministic, explainable. Each module defines ``SPEC`` (its registry
entry), ``run(inputs) -> dict`` (what ``SPEC.invocation`` calls) and ``EXAMPLES`` (sample inputs)."""

from __future__ import annotations

from types import ModuleType

from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.llm_settings import llm_from_env
from airflow_provider_batchorch.core.registry import AgentRegistry
from airflow_provider_batchorch.builtin_agents import (
    address_validator,
    company_enrichment,
    customer_scorer,
    product_analyzer,
    ticket_classifier,
)

BUILTIN_AGENT_MODULES: tuple[ModuleType, ...] = (
    company_enrichment,
    ticket_classifier,
    address_validator,
    product_analyzer,
    customer_scorer,
)


def builtin_specs() -> list[AgentSpec]:
    """Fresh copies of the built-in registry entries, in the design document's order."""
    return [module.SPEC.model_copy(deep=True) for module in BUILTIN_AGENT_MODULES]


def builtin_registry() -> AgentRegistry:
    """The five built-in agents: offline logic, or the LLM named by ``BATCHORCH_LLM_MODEL`` when it is set."""
    return AgentRegistry(llm_from_env(spec) for spec in builtin_specs())


__all__ = ["BUILTIN_AGENT_MODULES", "builtin_registry", "builtin_specs"]
