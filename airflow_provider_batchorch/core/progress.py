"""Progress and ETA from the processor's counters."""

from __future__ import annotations

from airflow_provider_batchorch.core.execution_status import RUNNING
from airflow_provider_batchorch.core.models import Progress


def compute_progress(
    *, status: str, total_rows: int, succeeded: int, failed: int, elapsed_seconds: float
) -> Progress:
    processed = succeeded + failed
    percent = round(100.0 * processed / total_rows, 1) if total_rows else 100.0
    eta = None
    if 0 < processed < total_rows and elapsed_seconds > 0:
        eta = round((total_rows - processed) * elapsed_seconds / processed, 1)
    return Progress(
        status=status,
        total_rows=total_rows,
        rows_processed=processed,
        rows_succeeded=succeeded,
        rows_failed=failed,
        percent=percent,
        eta_seconds=eta,
        elapsed_seconds=round(elapsed_seconds, 1),
    )


def format_duration(seconds: float | None) -> str:
    """``4m 32s``, ``4m 0s``, ``1h 5m``, ``45s``; ``unknown`` for ``None``."""
    if seconds is None:
        return "unknown"
    minutes, secs = divmod(max(0, round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def progress_line(progress: Progress) -> str:
    """``RUNNING: rows 450/1000 (45.0%), 12 failed, elapsed 4m 5s, ETA 5m 0s`` (the ETA only while running)."""
    line = (
        f"{progress.status}: rows {progress.rows_processed}/{progress.total_rows} ({progress.percent:.1f}%), "
        f"{progress.rows_failed} failed, elapsed {format_duration(progress.elapsed_seconds)}"
    )
    if progress.status == RUNNING:
        line += f", ETA {format_duration(progress.eta_seconds)}" if progress.eta_seconds is not None else ", ETA -"
    return line
