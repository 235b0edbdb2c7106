"""Agents deployed as AWS Lambda functions: ``invoke`` (RequestResponse) with the mapped row as the payload.

The function returns the output object, or ``{"structured_output": {...}}``. A function error
(``FunctionError`` in the response) fails the row with the function's ``errorMessage``. Throttling
(``TooManyRequestsException``) and transient faults are retried by ``core.backoff`` (botocore's own retries off)
through an adaptive concurrency limit.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from airflow_provider_batchorch.agents.agent_output import structured_output_of, tokens_of
from airflow_provider_batchorch.agents.deployed_agent import DeployedAgent, agent_client
from airflow_provider_batchorch.core.agent_spec import AgentSpec, LambdaInvocation
from airflow_provider_batchorch.core.errors import AgentRowError
from airflow_provider_batchorch.core.agent_call import AgentResult
from airflow_provider_batchorch.core.backoff import call_with_retries, row_error_for

MAX_REASON = 200


def lambda_client(region: str | None = None, endpoint_url: str | None = None) -> Any:
    return agent_client("lambda", region, endpoint_url, read_timeout=900)


def function_error(function_name: str, kind: str, payload: bytes) -> AgentRowError:
    """The row failure for a Lambda ``FunctionError`` (``Unhandled`` or ``Handled``)."""
    try:
        body = json.loads(payload)
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    message = " ".join(str(body.get("errorMessage") or f"Lambda function error ({kind})").split())
    if len(message) > MAX_REASON:
        message = message[: MAX_REASON - 3] + "..."
    error_type = body.get("errorType") or kind
    return AgentRowError(message, detail=f"{error_type} in Lambda function {function_name}")


class LambdaAgent(DeployedAgent):
    invocation_type = LambdaInvocation
    service = "lambda"
    client_config = {"read_timeout": 900}

    def _invoke(self, payload: bytes) -> dict[str, Any]:
        request: dict[str, Any] = {
            "FunctionName": self.invocation.function_name,
            "InvocationType": "RequestResponse",
            "Payload": payload,
        }
        if self.invocation.qualifier:
            request["Qualifier"] = self.invocation.qualifier
        response = self.client.invoke(**request)
        response["Payload"] = response["Payload"].read()  # read in this thread, while the stream is open
        return response

    async def __call__(self, inputs: dict[str, Any]) -> AgentResult:
        payload = json.dumps(inputs, ensure_ascii=False, default=str).encode("utf-8")
        try:
            response = await call_with_retries(
                lambda: asyncio.to_thread(self._invoke, payload), policy=self.retry_policy, limiter=self.limiter
            )
        except Exception as error:
            raise row_error_for(error, attempts=self.retry_policy.max_attempts) from error
        body = response["Payload"]
        if response.get("FunctionError"):
            raise function_error(self.invocation.function_name, response["FunctionError"], body)
        input_tokens, output_tokens = tokens_of(body)
        return AgentResult(output=structured_output_of(body), input_tokens=input_tokens, output_tokens=output_tokens)


def build_lambda_call(spec: AgentSpec) -> LambdaAgent:
    return LambdaAgent(spec)
