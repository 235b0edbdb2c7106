"""Turns an agent's ``invocation`` into something the worker can call for one row.

Every kind is adapted to the same shape: ``await agent_call(inputs) -> AgentResult`` (``core/agent_call.py``). A
kind is added by writing a builder ``(spec) -> AgentCall`` in a module of its own and listing it in ``BUILDERS``:
``python_agent``, ``llm_agent``, ``lambda_agent``, ``stepfunctions_agent``.
"""

from __future__ import annotations

from typing import Callable

from airflow_provider_batchorch.agents.python_agent import python_call
from airflow_provider_batchorch.core.agent_call import AgentCall
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.errors import RegistryError


def _llm_call(spec: AgentSpec) -> AgentCall:
    from airflow_provider_batchorch.agents.llm_agent import build_llm_call  # imports pydantic-ai: only when used

    return build_llm_call(spec)


def _lambda_call(spec: AgentSpec) -> AgentCall:
    from airflow_provider_batchorch.agents.lambda_agent import build_lambda_call

    return build_lambda_call(spec)


def _stepfunctions_call(spec: AgentSpec) -> AgentCall:
    from airflow_provider_batchorch.agents.stepfunctions_agent import build_stepfunctions_call

    return build_stepfunctions_call(spec)


BUILDERS: dict[str, Callable[[AgentSpec], AgentCall]] = {
    "python": python_call,
    "llm": _llm_call,
    "lambda": _lambda_call,
    "stepfunctions": _stepfunctions_call,
}


# The kinds whose modules are imported on first use: pydantic-ai alone takes about 1.3 s of CPU to import.
LAZY_KIND_MODULES = (
    "airflow_provider_batchorch.agents.llm_agent",
    "airflow_provider_batchorch.agents.lambda_agent",
    "airflow_provider_batchorch.agents.stepfunctions_agent",
)


def preload_agent_kinds() -> None:
    """Import every kind's module now, so that a worker's first chunk does not stall its event loop (and every
    chunk received with it) on the import. A worker calls this before it polls."""
    import importlib

    for name in LAZY_KIND_MODULES:
        importlib.import_module(name)


def build_agent_call(spec: AgentSpec) -> AgentCall:
    try:
        builder = BUILDERS[spec.invocation.kind]
    except KeyError:
        raise RegistryError(f"agent {spec.name!r} has an unsupported invocation kind {spec.invocation.kind!r}.") from None
    return builder(spec)
