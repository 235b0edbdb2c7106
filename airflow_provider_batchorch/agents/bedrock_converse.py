"""The Bedrock path of LLM agents: one SigV4-signed Converse request over aiohttp per answer.

Measured on 2 cores (BENCHMARKS.md, "Bedrock agents (issue 13)"): a row through pydantic-ai's ``Agent.run`` over
``BedrockConverseModel`` (boto3 in a worker thread per request) costs about 6 ms of CPU, a signed aiohttp request
about 0.4 ms. For ``bedrock:<model id>`` models an ``LlmAgent`` therefore sends Converse itself, with the contract
of its pydantic-ai path:

- the request pydantic-ai sends (system prompt, the ``final_result`` output tool with ``toolChoice: any`` where the
  model supports it, or the prompted schema; ``inferenceConfig``), its constant part serialised once per agent;
- each answer checked once by the agent's ``OutputValidator``; a wrong answer is re-asked with the errors (a
  ``toolResult`` with ``status: error`` answering the output tool's ``toolUse``, or a user turn), up to
  ``max_retries`` times, then the row fails with the validator's reason for the last answer;
- HTTP errors raised as ``ConverseHttpError``, shaped like botocore's ``ClientError`` (``response["Error"]["Code"]``,
  ``ResponseMetadata``), so ``core.backoff`` classifies ``ThrottlingException`` / 429 and 5xx as it does for boto3;
  connection faults as ``ChatConnectionError`` / ``TimeoutError``; tokens from the answer's ``usage``.

Credentials: botocore's default chain (environment, profile, SSO, container, instance role), resolved once per
agent; refreshable credentials are frozen per request, so a rotated role session is picked up. The region is
``invocation.region``, else ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` / the profile's. The endpoint is the
connection's ``base_url`` when set, else ``https://bedrock-runtime.<region>.amazonaws.com``. Sessions are shared
with the OpenAI-compatible path (``openai_chat.shared_session``: one per process, loop and endpoint).
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import aiohttp
import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.utils import percent_encode
from yarl import URL

from airflow_provider_batchorch.agents.openai_chat import (
    MAX_PROBLEMS_IN_REASK,
    OUTPUT_TOOL,
    REASK_SUFFIX,
    TokenCount,
    post_request,
    prompted_instructions,
)
from airflow_provider_batchorch.core.errors import AgentRowError, RegistryError
from airflow_provider_batchorch.core.output_validation import OutputValidator

SERVICE = "bedrock"
DEFAULT_TOOL_DESCRIPTION = "The final response which ends this conversation"
_ERROR_BODY_CHARS = 500


class ConverseHttpError(Exception):
    """A non-2xx answer of Converse, with botocore ``ClientError``'s ``response`` shape for ``core.backoff``."""

    def __init__(self, status_code: int, headers: dict[str, str], code: str, message: str) -> None:
        super().__init__(f"{code} (HTTP {status_code}): {message[:_ERROR_BODY_CHARS]}")
        self.status_code = status_code
        self.headers = headers
        self.response = {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status_code, "HTTPHeaders": headers},
        }


def error_of(status: int, headers: dict[str, str], payload: bytes) -> ConverseHttpError:
    """The error of a failed answer: the code from ``x-amzn-ErrorType`` or the body's ``__type`` / ``code``."""
    try:
        body = json.loads(payload)
        body = body if isinstance(body, dict) else {}
    except ValueError:
        body = {}
    code = headers.get("x-amzn-ErrorType") or headers.get("X-Amzn-ErrorType") or body.get("__type") or body.get("code")
    code = str(code or f"HTTP{status}").split(":")[0].rsplit("#", 1)[-1]
    message = str(body.get("message") or body.get("Message") or payload[:_ERROR_BODY_CHARS].decode("utf-8", "replace"))
    return ConverseHttpError(status, headers, code, message)


def default_region() -> str | None:
    """``AWS_REGION`` (what ECS, Lambda and the SDKs other than botocore read), else botocore's own
    (``AWS_DEFAULT_REGION``, the profile)."""
    return os.environ.get("AWS_REGION") or botocore.session.get_session().get_config_variable("region")


def model_flags(model_id: str) -> dict[str, Any]:
    """What pydantic-ai's Bedrock profile of ``model_id`` says about forced tool use and tool results."""
    from pydantic_ai.providers.bedrock import BedrockProvider

    profile = BedrockProvider.model_profile(model_id) or {}
    return {
        "tool_choice": bool(profile.get("bedrock_supports_tool_choice", False)),
        "tool_result_status": bool(profile.get("bedrock_supports_tool_result_status", True)),
        "tool_result_json": profile.get("bedrock_tool_result_format", "text") == "json",
    }


class BedrockConverseRows:
    """Structured output from Bedrock's Converse API, one row at a time."""

    def __init__(
        self,
        *,
        model_id: str,
        region: str | None,
        endpoint_url: str | None,
        system_prompt: str,
        schema: dict[str, Any],
        description: str | None,
        output_mode: str,
        max_retries: int,
        request_timeout: float,
        validator: OutputValidator,
        inference_config: dict[str, Any],
    ) -> None:
        region = region or default_region()
        if not region:
            raise RegistryError(
                f"the llm agent's model bedrock:{model_id} has no AWS region.",
                hint="Set invocation.region in the registry entry, or AWS_REGION where the workers run.",
            )
        self.region = region
        self.endpoint = (endpoint_url or f"https://bedrock-runtime.{region}.amazonaws.com").rstrip("/")
        self.url = f"{self.endpoint}/model/{percent_encode(model_id)}/converse"
        self._url = URL(self.url, encoded=True)  # sent as signed: the model id stays percent-encoded
        self.output_mode = output_mode
        self.max_retries = max_retries
        self.validator = validator
        self.timeout = aiohttp.ClientTimeout(total=request_timeout)
        flags = model_flags(model_id)
        self.tool_result_status = flags["tool_result_status"]
        self.tool_result_json = flags["tool_result_json"]
        if output_mode == "prompted":
            system_prompt = f"{system_prompt}\n\n{prompted_instructions(schema, description)}"
        tail: dict[str, Any] = {}
        if inference_config:
            tail["inferenceConfig"] = inference_config
        if output_mode == "tool":
            spec = {"name": OUTPUT_TOOL, "description": description or DEFAULT_TOOL_DESCRIPTION,
                    "inputSchema": {"json": schema}}
            tool_config: dict[str, Any] = {"tools": [{"toolSpec": spec}]}
            if flags["tool_choice"]:  # pydantic-ai forces the output tool only where the model accepts it
                tool_config["toolChoice"] = {"any": {}}
            tail["toolConfig"] = tool_config
        # The request as bytes around the messages: only the messages are serialised per request.
        self._head = b'{"messages": '
        self._tail = b", " + json.dumps({"system": [{"text": system_prompt}], **tail})[1:].encode()
        self._credentials = botocore.session.get_session().get_credentials()

    def body_for(self, messages: list[dict[str, Any]]) -> bytes:
        return self._head + json.dumps(messages, ensure_ascii=False).encode() + self._tail

    async def run(self, user_prompt: str, tokens: TokenCount) -> dict[str, Any]:
        messages: list[dict[str, Any]] = [{"role": "user", "content": [{"text": user_prompt}]}]
        for reasks_left in range(self.max_retries, -1, -1):
            content = await self._converse(messages, tokens)
            raw, tool_use = answer_of(content)
            try:
                return self.validator.validate(raw)
            except AgentRowError as error:
                kept = [block for block in content if (block.get("text") or "").strip()]
                kept += [tool_use] if tool_use else []
                if reasks_left == 0 or not kept:
                    raise
                problems = getattr(error, "errors", None) or [str(error)]
                messages = [*messages, {"role": "assistant", "content": kept}, self._reask(tool_use, problems)]
        raise AssertionError("unreachable")  # pragma: no cover

    def _reask(self, tool_use: dict[str, Any] | None, problems: list[str]) -> dict[str, Any]:
        listed = "; ".join(problems[:MAX_PROBLEMS_IN_REASK])
        text = (f"The output is not valid: {listed}. It must be one JSON object matching the output schema. "
                f"{REASK_SUFFIX}")
        if tool_use is None:
            return {"role": "user", "content": [{"text": text}]}
        result: dict[str, Any] = {"toolUseId": tool_use["toolUse"]["toolUseId"],
                                  "content": [{"json": {"error": text}} if self.tool_result_json else {"text": text}]}
        if self.tool_result_status:
            result["status"] = "error"
        return {"role": "user", "content": [{"toolResult": result}]}

    def _signed_headers(self, body: bytes) -> dict[str, str]:
        if self._credentials is None:
            raise AgentRowError(
                "No AWS credentials",
                detail="botocore's credential chain found none (environment, profile, SSO, container or instance role)",
            )
        request = AWSRequest("POST", self.url, data=body,
                             headers={"Content-Type": "application/json", "Accept": "application/json"})
        SigV4Auth(self._credentials.get_frozen_credentials(), SERVICE, self.region).add_auth(request)
        return dict(request.headers.items())

    async def _fresh_credentials(self) -> None:
        """Refreshable credentials (STS, SSO, a container or instance role) renew with a blocking HTTP call: made
        in a thread when due, so that it does not stall every row on the worker's loop."""
        refresh_needed = getattr(self._credentials, "refresh_needed", None)
        if refresh_needed is not None and refresh_needed():
            await asyncio.to_thread(self._credentials.get_frozen_credentials)

    async def _converse(self, messages: list[dict[str, Any]], tokens: TokenCount) -> list[dict[str, Any]]:
        body = self.body_for(messages)
        status, headers, payload = await self._post(body)
        if status >= 400:
            raise error_of(status, headers, payload)
        try:
            answer = json.loads(payload)
            content = answer["output"]["message"]["content"]
            counts = answer.get("usage") or {}
            tokens.input_tokens += int(counts.get("inputTokens") or 0)
            tokens.output_tokens += int(counts.get("outputTokens") or 0)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise AgentRowError("Model output rejected", detail=f"not a Converse answer: {payload[:200]!r}") from error
        if not isinstance(content, list):
            raise AgentRowError("Model output rejected", detail=f"not a Converse answer: {payload[:200]!r}")
        return content

    async def _post(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) of one signed request (``openai_chat.post_request``)."""
        await self._fresh_credentials()
        return await post_request(self.endpoint, self._url, body, self._signed_headers(body), self.timeout)


def answer_of(content: list[dict[str, Any]]) -> tuple[Any, dict[str, Any] | None]:
    """(raw output, the output tool's ``toolUse`` block): the first ``final_result`` tool input, else the text."""
    for block in content:
        tool_use = block.get("toolUse") if isinstance(block, dict) else None
        if isinstance(tool_use, dict) and tool_use.get("name") == OUTPUT_TOOL:
            return tool_use.get("input"), {"toolUse": tool_use}
    texts = [block["text"] for block in content if isinstance(block, dict) and isinstance(block.get("text"), str)]
    return ("".join(texts) if texts else None), None
