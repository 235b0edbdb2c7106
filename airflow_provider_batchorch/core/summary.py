"""The batch summary the user reads: counts, success rate, grouped failure reasons, what to do next."""

from __future__ import annotations

from collections import Counter

from airflow_provider_batchorch.core.actual_cost import agent_cost, per_row, total_cost
from airflow_provider_batchorch.core.cost_estimate import format_usd
from airflow_provider_batchorch.core.cascade_tally import CascadeTally, cascade_report, cascade_text
from airflow_provider_batchorch.core.models import BatchConfig, BatchSummary, ChunkSummary
from airflow_provider_batchorch.core.throughput import rows_per_minute

TOP_REASONS = 10


def summarize_batch(
    config: BatchConfig, chunks: list[ChunkSummary], *, execution_arn: str | None, processing_seconds: float
) -> BatchSummary:
    succeeded = sum(c.succeeded for c in chunks)
    failed = sum(c.failed for c in chunks)
    processed = succeeded + failed
    skipped = sum(c.skipped for c in chunks)  # left out by the row filter: neither processed nor failed
    reasons: Counter = Counter()
    for chunk in chunks:
        reasons.update(chunk.failure_reasons)
    rate = round(100.0 * succeeded / processed, 1) if processed else 0.0
    input_tokens = sum(c.input_tokens for c in chunks)
    output_tokens = sum(c.output_tokens for c in chunks)
    # The chunks' tokens are the workers' own (real-time) calls; a batch job's are its execution part's (cost mode).
    cost = agent_cost(config.agent, config.cost_estimate, rows=processed, agent_calls=sum(c.agent_calls for c in chunks),
                      input_tokens=input_tokens, output_tokens=output_tokens, execution_mode="realtime")
    status = "SUCCEEDED" if failed == 0 else "COMPLETED_WITH_ERRORS"
    summary = BatchSummary(
        status=status,
        message=f"Processed {succeeded} rows successfully, {failed} failed"
                + (f", {skipped} skipped by the row filter" if skipped else ""),
        batch_id=config.batch_id,
        agent=config.agent.name,
        execution_arn=execution_arn,
        rows_processed=processed,
        rows_succeeded=succeeded,
        rows_failed=failed,
        rows_skipped=skipped,
        success_rate=rate,
        output_csv_uri=config.output_uri,
        output_fields=config.output_fields,
        processing_time_seconds=round(processing_seconds, 3),
        failure_reasons=dict(reasons.most_common(TOP_REASONS)),
        agent_calls=cost.agent_calls,
        rows_reused=sum(c.rows_reused for c in chunks),
        calls_saved=sum(c.calls_saved for c in chunks),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        input_tokens_per_row=per_row(input_tokens, processed),
        output_tokens_per_row=per_row(output_tokens, processed),
        estimated_cost_usd=config.cost_estimate.cost_usd if config.cost_estimate else None,
        actual_cost_usd=total_cost([cost]),
        cost_by_agent={cost.agent: cost},
        throughput=rows_per_minute((c.started_at, c.finished_at, c.rows, c.rows_finished) for c in chunks),
    )
    tally = CascadeTally.total(c.cascade for c in chunks)
    summary.cascade = cascade_report(config.agent, tally)
    if summary.cascade is not None and tally is not None and config.agent.escalation_agent is not None:
        # Each agent of the cascade at its own prices (the cheap one answered every row first).
        strong = config.agent.escalation_agent
        costs = [agent_cost(config.agent, config.cost_estimate, rows=tally.rows, agent_calls=tally.cheap_calls,
                            input_tokens=tally.cheap_input_tokens, output_tokens=tally.cheap_output_tokens),
                 agent_cost(strong, None, rows=tally.rows_escalated, agent_calls=tally.strong_calls,
                            input_tokens=tally.strong_input_tokens, output_tokens=tally.strong_output_tokens)]
        summary.cost_by_agent = {cost.agent: cost for cost in costs}
        summary.actual_cost_usd = total_cost(costs)
        summary.agent_calls = summary.cascade.agent_calls  # every called row went through the cascade: both agents'
    if failed:
        summary.error_details_location = f"{config.output_uri} (see _error_message column)"
        summary.retry_suggestion = (
            "You can reprocess failed rows by filtering the output CSV on _status = FAILED"
        )
    return summary


def summary_text(summary: BatchSummary) -> str:
    """The summary as the seed shows it to a user."""
    lines = [
        "Batch processing complete!" if summary.status == "SUCCEEDED" else "Batch processing completed with errors.",
        f"- Status: {summary.status}",
        f"- Successfully processed: {summary.rows_succeeded} rows ({summary.success_rate}%)",
        f"- Failed: {summary.rows_failed} rows",
        *([f"- Skipped by the row filter: {summary.rows_skipped} rows"] if summary.rows_skipped else []),
        f"- Output file: {summary.output_csv_uri}",
        f"- Processing time: {summary.processing_time_seconds:.1f} s",
        f"- Output fields: {', '.join(summary.output_fields)}",
        f"- Agent calls: {summary.agent_calls}",
    ]
    if summary.calls_saved:
        lines[-1] += (f" ({summary.calls_saved} saved: {summary.rows_reused} rows reused from earlier runs, "
                      f"{summary.calls_saved - summary.rows_reused} duplicates in this batch)")
    if summary.input_tokens or summary.output_tokens:
        lines.append(f"- Tokens: {summary.input_tokens} in, {summary.output_tokens} out "
                     f"({summary.input_tokens_per_row:g} in, {summary.output_tokens_per_row:g} out per row)")
    if summary.estimated_cost_usd is not None or summary.actual_cost_usd is not None:
        lines.append(f"- Cost: estimated {format_usd(summary.estimated_cost_usd)}, "
                     f"actual {format_usd(summary.actual_cost_usd)}")
        if len(summary.cost_by_agent) > 1:
            lines += [f"  - {cost.agent}: {cost.rows} rows, {format_usd(cost.cost_usd)}"
                      for cost in summary.cost_by_agent.values()]
    if summary.cascade is not None:
        lines.append(cascade_text(summary.cascade))
    if summary.failure_reasons:
        lines.append("Failure reasons:")
        lines += [f"  - {count} rows: {reason}" for reason, count in summary.failure_reasons.items()]
    if summary.retry_suggestion:
        lines.append(summary.retry_suggestion)
    return "\n".join(lines)
