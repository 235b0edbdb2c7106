"""An llm agent's rows as batch-API requests: the same request bodies as its real-time path.

OpenAI-compatible models: the chat-completions body ``agents.openai_chat`` sends for a row's first attempt
(system prompt, output tool or response format, settings). Bedrock Anthropic models: the Messages body with
the output schema as the one forced tool (``core.batch_api.requests.anthropic_messages_body``).
"""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_batchorch.agents.llm_agent import (
    openai_chat_rows,
    openai_endpoint,
    resolve_credentials,
    system_prompt_for,
    user_prompt_for,
)
from airflow_provider_batchorch.agents.openai_batch import OpenAIBatchClient
from airflow_provider_batchorch.agents.openai_chat import OUTPUT_TOOL
from airflow_provider_batchorch.core.agent_spec import AgentSpec, LlmInvocation
from airflow_provider_batchorch.core.batch_api.mode import batch_provider
from airflow_provider_batchorch.core.batch_api.requests import (
    anthropic_messages_body,
    bedrock_record,
    openai_request_line,
)
from airflow_provider_batchorch.core.errors import BatchApiUnavailableError
from airflow_provider_batchorch.core.output_validation import OutputValidator
from airflow_provider_batchorch.core.transforms.prompt_template import prompt_template_of


class LlmBatchRequests:
    """Request records for one agent, and the client of its OpenAI-compatible batch API."""

    def __init__(self, spec: AgentSpec) -> None:
        provider = batch_provider(spec)
        if provider is None:
            raise BatchApiUnavailableError(f"agent {spec.name!r} has no batch API.",
                                           hint="Run it with execution_mode realtime.")
        assert isinstance(spec.invocation, LlmInvocation)
        self.spec = spec
        self.invocation = spec.invocation
        self.provider = provider
        self.validator = OutputValidator(spec.output_schema or {})
        self.prompt_template = prompt_template_of(spec)  # the batch's per-row prompt, as in real time
        self.credentials = resolve_credentials(self.invocation)
        self.model = self.credentials.model
        self._chat = openai_chat_rows(spec, self.credentials, self.validator) if provider == "openai" else None
        self._schema = {k: v for k, v in (spec.output_schema or {}).items() if k != "$schema"}

    @property
    def bedrock_model_id(self) -> str:
        return self.model.partition(":")[2]

    def record(self, request_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        user = user_prompt_for(inputs, self.prompt_template)
        if self._chat is not None:
            body = json.loads(self._chat.body_for(self._chat.first_messages(user)))
            return openai_request_line(request_id, body)
        return bedrock_record(request_id, anthropic_messages_body(
            system=system_prompt_for(self.spec), user=user, tool_name=OUTPUT_TOOL, schema=self._schema,
            description=self.spec.description or None, max_tokens=self.invocation.max_tokens,
            temperature=self.invocation.temperature,
        ))

    def openai_client(self) -> OpenAIBatchClient:
        base_url, api_key = openai_endpoint(self.credentials)
        return OpenAIBatchClient(base_url, api_key, timeout=self.invocation.request_timeout)
