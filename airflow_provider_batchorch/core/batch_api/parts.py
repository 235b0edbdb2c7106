"""Rows, tokens and cost of each part of a cost-mode batch: the batch job's, and the real-time stragglers'.

The batch-API part holds the rows answered from the job's answers (``rows_batch_api`` of the chunks) and every
token the job billed (invalid answers included), priced at the batch price. The real-time part holds the rows
the workers called the agent for and the tokens they spent, at the list price. Rows reused from an earlier
batch (incremental) are in neither: nothing was spent on them.
"""

from __future__ import annotations

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
    return summary
