"""Waits in the triggerer for a cost-mode batch job (OpenAI-compatible ``/v1/batches`` or Bedrock batch
inference) to finish, or for its deadline; fires one event."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from airflow.triggers.base import BaseTrigger, TriggerEvent
from airflow_provider_batchorch.aws.batch_api_job import DEADLINE, job_status
from airflow_provider_batchorch.aws.polling import TOLERATED_POLL_ERRORS, apoll
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.batch_api.models import BatchApiJob
from airflow_provider_batchorch.triggers._aws_connection import AwsConnectionFields


class LlmBatchJobTrigger(AwsConnectionFields, BaseTrigger):
    """Poll the job until its status is final or ``job.deadline_at`` passes.

    The event is ``{"status": <the job's final status> | "deadline", "job_id"}``. Credentials are resolved
    here from the agent spec (its ``api_key_env`` or ``conn_id``, names only): no key is serialised.

    :param job: The ``BatchApiJob`` dump (``BatchApiJobOperator``'s submission).
    :param agent: The ``AgentSpec`` dump, for the endpoint and its credentials.
    :param poll_interval: Seconds between polls.
    """

    def __init__(
        self,
        *,
        job: dict[str, Any],
        agent: dict[str, Any],
        poll_interval: float = 60.0,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict | None = None,
    ) -> None:
        super().__init__()
        self.job = job
        self.agent = agent
        self.poll_interval = poll_interval
        self.set_aws_connection(aws_conn_id=aws_conn_id, region_name=region_name, verify=verify,
                                botocore_config=botocore_config)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"job": self.job, "agent": self.agent, "poll_interval": self.poll_interval,
             **self.aws_connection_kwargs()},
        )

    def _reader(self, job: BatchApiJob):
        if job.provider == "openai":
            from airflow_provider_batchorch.agents.llm_batch import LlmBatchRequests

            client = LlmBatchRequests(AgentSpec.model_validate(self.agent)).openai_client()
            return lambda: job_status(job, openai=client), client.close
        region = getattr(AgentSpec.model_validate(self.agent).invocation, "region", None)
        bedrock = self.hook().get_client_type("bedrock", region_name=region)
        return lambda: job_status(job, bedrock=bedrock), lambda: None

    async def run(self) -> AsyncIterator[TriggerEvent]:
        job = BatchApiJob.model_validate(self.job)
        read, close = self._reader(job)
        status = DEADLINE
        try:
            async for status, final in apoll(read, interval=self.poll_interval, what=job.job_id, log=self.log,
                                             tolerate=(*TOLERATED_POLL_ERRORS, httpx.TransportError)):
                self.log.info("Batch job %s (%s): %s", job.job_id, job.provider, status)
                if final:
                    break
                if time.time() >= job.deadline_at:
                    self.log.warning("Batch job %s not finished by its deadline: the rest of the rows run in "
                                     "real time", job.job_id)
                    status = DEADLINE
                    break
        finally:
            close()
        yield TriggerEvent({"status": status, "job_id": job.job_id})
