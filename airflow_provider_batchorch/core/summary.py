"""The batch summary the user reads: counts, success rate, grouped failure reasons, what to do next."""

from __future__ import annotations

from collections import Counter

from airflow_provider_batchorch.core.models import BatchConfig, BatchSummary, ChunkSummary

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
        agent_calls=sum(c.agent_calls for c in chunks),
        rows_reused=sum(c.rows_reused for c in chunks),
        calls_saved=sum(c.calls_saved for c in chunks),
        input_tokens=sum(c.input_tokens for c in chunks),
        output_tokens=sum(c.output_tokens for c in chunks),
    )
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
        lines.append(f"- Tokens: {summary.input_tokens} in, {summary.output_tokens} out")
    if summary.failure_reasons:
        lines.append("Failure reasons:")
        lines += [f"  - {count} rows: {reason}" for reason, count in summary.failure_reasons.items()]
    if summary.retry_suggestion:
        lines.append(summary.retry_suggestion)
    return "\n".join(lines)
