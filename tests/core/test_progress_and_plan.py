import pytest

from airflow_provider_batchorch.core.chunk_packing import split_concurrency
from airflow_provider_batchorch.core.progress import compute_progress, format_duration, progress_line


@pytest.mark.parametrize(
    "concurrency, chunks, expected",
    [(10, 5, (5, 2)), (10, 1, (1, 10)), (200, 100, (100, 2)), (200, 1000, (200, 1)), (7, 3, (3, 2)), (1, 50, (1, 1))],
)
def test_plan_never_exceeds_concurrency(concurrency, chunks, expected):
    chunk_concurrency, row_concurrency = split_concurrency(concurrency, chunks)
    assert (chunk_concurrency, row_concurrency) == expected
    assert chunk_concurrency * row_concurrency <= concurrency


def test_progress_eta_from_rate():
    progress = compute_progress(status="RUNNING", total_rows=1000, succeeded=440, failed=10, elapsed_seconds=90)
    assert progress.rows_processed == 450
    assert progress.percent == 45.0
    assert progress.eta_seconds == pytest.approx(110.0)
    assert "rows 450/1000 (45.0%)" in progress_line(progress)
    assert "ETA 1m 50s" in progress_line(progress)


def test_progress_without_rows_has_no_eta():
    progress = compute_progress(status="RUNNING", total_rows=10, succeeded=0, failed=0, elapsed_seconds=5)
    assert progress.eta_seconds is None and progress.percent == 0.0


def test_format_duration():
    assert format_duration(5) == "5s"
    assert format_duration(272) == "4m 32s"
    assert format_duration(7322) == "2h 2m"
    assert format_duration(None) == "unknown"
