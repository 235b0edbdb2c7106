"""Switch an agent to an LLM: ``with_llm(spec, model, ...)`` and the ``BATCHORCH_LLM_*`` environment variables.

The built-in agents run offline by default. A registry resolver calls ``llm_from_env(spec)`` to give them an
LLM when one is configured:

- ``BATCHORCH_LLM_MODEL``: a pydantic-ai model string (``openai:gpt-4.1-mini``, ``bedrock:...``, a name served
  by ``BATCHORCH_LLM_BASE_URL``, or ``test``). Unset or empty: agents are left as they are.
- ``BATCHORCH_LLM_BASE_URL``: an OpenAI-compatible server (vLLM, Ollama, a gateway), optional.
- ``BATCHORCH_LLM_API_KEY_ENV``: the name of the environment variable that holds the API key, optional.
- ``BATCHORCH_LLM_CONN_ID``: an Airflow ``pydanticai`` connection instead (key, base URL, model), optional.

This module imports neither pydantic-ai nor Airflow.
"""

from __future__ import annotations

import os
from typing import Mapping

from airflow_provider_batchorch.core.agent_spec import AgentSpec, LlmInvocation

ENV_MODEL = "BATCHORCH_LLM_MODEL"
ENV_BASE_URL = "BATCHORCH_LLM_BASE_URL"
ENV_API_KEY_ENV = "BATCHORCH_LLM_API_KEY_ENV"
ENV_CONN_ID = "BATCHORCH_LLM_CONN_ID"


def with_llm(
    spec: AgentSpec,
    model: str | None,
    base_url: str | None = None,
    api_key_env: str | None = None,
    *,
    conn_id: str | None = None,
    **invocation_options: object,
) -> AgentSpec:
    """A copy of ``spec`` that calls an LLM with its prompt and output schema instead of its own invocation."""
    invocation = LlmInvocation(
        model=model or None, base_url=base_url, api_key_env=api_key_env, conn_id=conn_id, **invocation_options
    )
    return spec.model_copy(update={"invocation": invocation})


def llm_from_env(spec: AgentSpec, environ: Mapping[str, str] | None = None) -> AgentSpec:
    """``spec`` switched to the LLM named by ``BATCHORCH_LLM_MODEL`` (or ``BATCHORCH_LLM_CONN_ID``), else as is.

    Only agents with a prompt and a structured output schema are switched: an LLM needs both.
    """
    environ = os.environ if environ is None else environ
    model = environ.get(ENV_MODEL, "").strip()
    conn_id = environ.get(ENV_CONN_ID, "").strip()
    if not (model or conn_id) or not spec.prompt or not spec.is_structured or spec.invocation.kind == "llm":
        return spec
    return with_llm(
        spec,
        model or None,
        base_url=environ.get(ENV_BASE_URL, "").strip() or None,
        api_key_env=environ.get(ENV_API_KEY_ENV, "").strip() or None,
        conn_id=conn_id or None,
    )
