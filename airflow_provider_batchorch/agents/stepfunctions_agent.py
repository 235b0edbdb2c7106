"""Agents deployed as Step Functions state machines: start an execution with the mapped row, wait for it.

The execution's output is the agent's output, or its ``structured_output`` field. ``describe_execution`` is
polled (the interval grows from ``poll_interval_seconds`` to 5 s) until the execution ends or
``timeout_seconds`` pass; then it is stopped and the row fails. A row cancelled by the worker's own timeout
stops its execution too. FAILED, TIMED_OUT and ABORTED executions fail the row with their error and cause.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from airflow_provider_batchorch.agents.agent_output import structured_output_of, tokens_of
from airflow_provider_batchorch.agents.deployed_agent import DeployedAgent, agent_client
from airflow_provider_batchorch.core.adaptive_concurrency import AdaptiveConcurrencyLimiter
from airflow_provider_batchorch.core.agent_spec import AgentSpec, StepFunctionsInvocation
from airflow_provider_batchorch.core.errors import AgentRowError
from airflow_provider_batchorch.core.execution_status import SUCCEEDED, is_final
from airflow_provider_batchorch.core.agent_call import AgentResult
from airflow_provider_batchorch.core.backoff import call_with_retries, row_error_for

MAX_POLL_INTERVAL = 5.0


def stepfunctions_client(region: str | None = None, endpoint_url: str | None = None) -> Any:
    return agent_client("stepfunctions", region, endpoint_url)


def execution_failure(description: dict[str, Any]) -> AgentRowError:
    status = description["status"]
    error = description.get("error") or ""
    cause = " ".join(str(description.get("cause") or "").split())
    reason = f"Agent state machine {status.lower().replace('_', ' ')}" + (f": {error}" if error else "")
    return AgentRowError(reason, detail=cause[:300])


class StepFunctionsAgent(DeployedAgent):
    invocation_type = StepFunctionsInvocation
    service = "stepfunctions"

    async def _aws(self, operation: str, limiter: AdaptiveConcurrencyLimiter | None = None, **request: Any) -> Any:
        method = getattr(self.client, operation)
        return await call_with_retries(
            lambda: asyncio.to_thread(method, **request), policy=self.retry_policy, limiter=limiter
        )

    async def _wait(self, execution_arn: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.invocation.timeout_seconds
        interval = self.invocation.poll_interval_seconds
        while True:
            description = await self._aws("describe_execution", executionArn=execution_arn)
            if is_final(description["status"]):
                return description
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                await self._stop(execution_arn, "row timeout")
                raise AgentRowError(
                    f"Agent state machine did not finish within {self.invocation.timeout_seconds:g}s",
                    detail=f"execution {execution_arn} stopped",
                )
            await asyncio.sleep(min(interval, remaining))
            interval = min(interval * 1.5, MAX_POLL_INTERVAL)

    async def _stop(self, execution_arn: str, cause: str) -> None:
        try:
            await asyncio.to_thread(
                self.client.stop_execution, executionArn=execution_arn, error="batchorch.RowTimeout", cause=cause
            )
        except Exception:  # noqa: BLE001 - best effort: the execution may have just ended
            pass

    async def __call__(self, inputs: dict[str, Any]) -> AgentResult:
        try:
            started = await self._aws(
                "start_execution",
                limiter=self.limiter,
                stateMachineArn=self.invocation.state_machine_arn,
                name=f"row-{uuid.uuid4().hex}",
                input=json.dumps(inputs, ensure_ascii=False, default=str),
            )
            execution_arn = started["executionArn"]
            try:
                description = await self._wait(execution_arn)
            except asyncio.CancelledError:
                # The worker's per-row timeout: do not leave the execution running. Shielded, then re-raised.
                await asyncio.shield(self._stop(execution_arn, "row cancelled by the batchorch worker"))
                raise
        except (AgentRowError, asyncio.CancelledError):
            raise
        except Exception as error:
            raise row_error_for(error, attempts=self.retry_policy.max_attempts) from error
        if description["status"] != SUCCEEDED:
            raise execution_failure(description)
        output = description.get("output")
        input_tokens, output_tokens = tokens_of(output)
        return AgentResult(output=structured_output_of(output), input_tokens=input_tokens, output_tokens=output_tokens)


def build_stepfunctions_call(spec: AgentSpec) -> StepFunctionsAgent:
    return StepFunctionsAgent(spec)
