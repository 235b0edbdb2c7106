"""Rows, tokens and cost of each part of a cost-mode batch: the batch job's, and the real-time stragglers'.

The batch-API part holds the rows answered from the job's answers (``rows_batch_api`` of the chunks) and every
token the job billed (invalid answers included), priced at the batch price. The real-time part holds the rows
the workers called the agent for and the tokens they spent, at the list price. Rows reused from an earlier
batch (incremental) are in neither: nothing was spent on them.
"""

from __future__ import annotations

from airflow_provider_batchorch.core.actual_cost import per_row
from airflow_provider_batchorch.core.batch_api.models import BatchApiOutcome, ExecutionPart
from airflow_provider_batchorch.core.cost_estimate import token_cost
from airflow_provider_batchorch.core.models import BatchConfig, BatchSummary, ChunkSummary


def execution_parts(
    *, model: str | None, rows_processed: int, rows_batch_api: int, rows_reused: int,
    realtime_input_tokens: int, realtime_output_tokens: int, outcome: BatchApiOutcome | None,
) -> list[ExecutionPart]:
    """The batch-API part (when a job ran) and the real-time part."""
    parts = []
    if outcome is not None:
        parts.append(ExecutionPart(
            mode="batch_api", rows=rows_batch_api, input_tokens=outcome.input_tokens,
            output_tokens=outcome.output_tokens,
            cost_usd=token_cost(model, outcome.input_tokens, outcome.output_tokens, mode="batch_api"),
        ))
    parts.append(ExecutionPart(
        mode="realtime", rows=max(0, rows_processed - rows_batch_api - rows_reused),
        input_tokens=realtime_input_tokens, output_tokens=realtime_output_tokens,
        cost_usd=token_cost(model, realtime_input_tokens, realtime_output_tokens, mode="realtime"),
    ))
    return parts


def add_execution_parts(summary: BatchSummary, config: BatchConfig, chunks: list[ChunkSummary],
                        outcome: BatchApiOutcome | None) -> BatchSummary:
    """Set the summary's ``execution_mode`` and ``execution_parts`` (a cost-mode batch only)."""
    summary.execution_mode = config.execution_mode
    if config.execution_mode != "batch_api":
        return summary
    summary.execution_parts = execution_parts(
        model=getattr(config.agent.invocation, "model", None), rows_processed=summary.rows_processed,
        rows_batch_api=sum(chunk.rows_batch_api for chunk in chunks), rows_reused=summary.rows_reused,
        realtime_input_tokens=summary.input_tokens, realtime_output_tokens=summary.output_tokens, outcome=outcome,
    )
    add_batch_job_cost(summary, config.agent.name, summary.execution_parts)
    return summary


def add_batch_job_cost(summary: BatchSummary, agent: str, parts: list[ExecutionPart]) -> None:
    """The actual cost is both parts' (the job's tokens at the batch price); the agent's share and tokens too."""
    job = next((part for part in parts if part.mode == "batch_api"), None)
    if job is None:
        return
    costs = [part.cost_usd for part in parts]
    summary.actual_cost_usd = None if None in costs else round(sum(costs), 6)
    share = summary.cost_by_agent.get(agent)
    if share is not None:
        share.input_tokens += job.input_tokens
        share.output_tokens += job.output_tokens
        share.input_tokens_per_row = per_row(share.input_tokens, share.rows)
        share.output_tokens_per_row = per_row(share.output_tokens, share.rows)
        share.cost_usd = summary.actual_cost_usd
