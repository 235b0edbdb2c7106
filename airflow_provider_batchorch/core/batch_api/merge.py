"""Batch-job answers into the batch's answer store, checked like real-time answers.

An answer is written only when the agent's ``OutputValidator`` accepts it (the same JSON Schema check as the
real-time path). A request with no answer, an error, or an answer that fails the schema is left out: the
workers find nothing for its row and call the agent in real time, which asks and re-asks under the agent's
``max_retries`` as for any row. The tokens of every answer, valid or not, are counted: they were billed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from airflow_provider_batchorch.core.batch_api.models import BATCH_API_SOURCE, BatchApiOutcome
from airflow_provider_batchorch.core.batch_api.results import JobAnswer, JobError
from airflow_provider_batchorch.core.errors import AgentRowError
from airflow_provider_batchorch.core.output_validation import OutputValidator

TOP_REASONS = 10


def merge_answers(
    keys: dict[str, str],
    results: dict[str, JobAnswer | JobError],
    validator: OutputValidator,
    put: Callable[[str, dict[str, Any]], None],
    *,
    agent: str,
    version: str,
    status: str,
) -> BatchApiOutcome:
    """Store the valid answers of ``results`` under their keys; count the rest by reason.

    :param keys: custom_id -> result cache key (the submitted job's ``keys``).
    :param put: The answer store's ``put``.
    :param status: The job's final status (the reason for requests it left unanswered).
    """
    outcome = BatchApiOutcome(status=status, requests=len(keys))
    reasons: Counter[str] = Counter()
    for request_id, key in keys.items():
        result = results.get(request_id)
        if result is None:
            outcome.failed += 1
            reasons[f"batch API: not answered (job {status})"] += 1
            continue
        if isinstance(result, JobError):
            outcome.failed += 1
            reasons[result.reason] += 1
            continue
        outcome.input_tokens += result.input_tokens
        outcome.output_tokens += result.output_tokens
        try:
            output = validator.validate(result.raw)
        except AgentRowError as error:
            outcome.invalid += 1
            reasons[f"batch API: {error.reason}"] += 1
            continue
        put(key, {"output": output, "agent": agent, "version": version, "source": BATCH_API_SOURCE})
        outcome.answered += 1
    outcome.failure_reasons = dict(reasons.most_common(TOP_REASONS))
    return outcome
