"""``batchorch run --retry-failed OUTPUT.csv``: rerun the failed rows of a local output CSV, merge them back.

The failed rows (original columns only, formula neutralisation undone) become a small input CSV that runs through
the batch_orchestrator DAG like any other (``run_batch``); the merged output keeps every row in its place under
the same header.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from airflow_provider_batchorch.core.models import BatchRequest, BatchSummary
from airflow_provider_batchorch.core.transforms.rules import output_names
from airflow_provider_batchorch.core.retry_failed import (
    RetryInputError,
    RetryOutcome,
    merge_retried_rows,
    open_csv_text,
    select_failed_rows,
)


def retried_output_path(previous_output: Path) -> Path:
    return previous_output.with_name(f"{previous_output.stem}_retried.csv")


def retry_failed_output(previous_output: str | Path, request: BatchRequest, *, workers: int | None = None,
                        output_path: str | Path | None = None) -> tuple[RetryOutcome, BatchSummary | None]:
    """Rerun the failed rows of ``previous_output`` with ``request`` (its ``csv_uri`` is replaced).

    :param output_path: The merged output; default ``<previous>_retried.csv`` next to it.
    :return: The merge outcome and the retry batch's summary (``None`` when no row had failed).
    """
    from airflow_provider_batchorch.cli.local_run import owner_registry, run_batch

    previous = Path(previous_output)
    if not previous.is_file():
        raise RetryInputError(f"no such file: {previous}", hint="Give the output CSV of a previous run.")
    merged = Path(output_path) if output_path else retried_output_path(previous)
    agent = owner_registry(request).validate(request.agent)
    with tempfile.TemporaryDirectory(prefix="batchorch-retry-") as work:
        retry_input = Path(work) / f"{previous.stem}_failed_rows.csv"
        with open_csv_text(previous) as source, retry_input.open("w", encoding="utf-8", newline="") as target:
            selection = select_failed_rows(source, target,
                                           output_names(agent.output_fields, agent.transforms, request.transforms))
        merged.parent.mkdir(parents=True, exist_ok=True)
        if not selection.failed_rows:
            shutil.copyfile(previous, merged)
            return RetryOutcome.nothing_failed(selection.total_rows, str(merged)), None
        retry_request = request.model_copy(update={
            "csv_uri": str(retry_input),
            "output_fields": request.output_fields or selection.output_fields,
        })
        retry_output = Path(work) / "retry_output.csv"
        summary = run_batch(retry_request, workers=workers, output_path=str(retry_output))
        with (open_csv_text(previous) as source, open_csv_text(retry_output) as retried,
              merged.open("w", encoding="utf-8", newline="") as target):
            outcome = merge_retried_rows(source, retried, selection, target)
    return outcome.model_copy(update={"output": str(merged)}), summary


def retry_text(outcome: RetryOutcome) -> str:
    return (f"Retried {outcome.retried} failed rows of {outcome.total_rows}: {outcome.fixed} fixed, "
            f"{outcome.still_failed} still failing. Now {outcome.rows_succeeded} succeeded, "
            f"{outcome.rows_failed} failed.\nComplete output: {outcome.output}")
