"""The seed's metrics from job records: per job, over a window, per agent; the points sent to Airflow's metrics."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_batchorch.core.metrics import (
    JobRecord,
    compute_overview,
    job_finished_points,
    job_started_points,
    with_live_progress,
)

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)


def job(batch_id: str, *, agent: str = "company-enrichment-agent", started_minutes_ago: float = 30,
        seconds: float | None = 60, succeeded: int = 0, failed: int = 0, total: int = 100,
        size: int | None = 1000, status: str | None = None) -> JobRecord:
    started = NOW - timedelta(minutes=started_minutes_ago)
    finished = started + timedelta(seconds=seconds) if seconds is not None else None
    return JobRecord(
        batch_id=batch_id, agent=agent, started_at=started, finished_at=finished,
        status=status or ("SUCCEEDED" if finished else "RUNNING"), csv_uri=f"s3://b/{batch_id}.csv",
        csv_size_bytes=size, total_rows=total, rows_succeeded=succeeded, rows_failed=failed,
    )


def test_one_job_metrics():
    record = job("a", seconds=90, succeeded=270, failed=30, total=300)
    assert record.rows_processed == 300 and record.percent_done == 100.0
    assert record.success_rate() == 90.0
    assert record.rows_per_hour(NOW) == 12_000.0  # 300 rows in 90 s
    assert record.seconds_per_row(NOW) == 0.3


def test_a_running_job_is_measured_up_to_now():
    record = job("r", started_minutes_ago=2, seconds=None, succeeded=60, total=600)
    assert not record.is_finished and record.percent_done == 10.0
    assert record.elapsed_seconds(NOW) == 120
    assert record.rows_per_hour(NOW) == 1800.0


def test_a_job_without_rows_has_no_rates():
    record = job("empty", succeeded=0, failed=0, total=0)
    assert record.success_rate() is None and record.rows_per_hour(NOW) is None and record.seconds_per_row(NOW) is None
    assert record.percent_done == 100.0


def test_overview_over_the_window_and_per_agent():
    records = [
        job("a", seconds=60, succeeded=90, failed=10, size=1000),
        job("b", agent="ticket-classifier-agent", seconds=120, succeeded=200, size=3000, total=200),
        job("c", started_minutes_ago=5, seconds=None, succeeded=10, size=500),  # running
        job("old", started_minutes_ago=60 * 25, succeeded=1000, size=10**9),  # outside the 24 h window
    ]
    overview = compute_overview(records, now=NOW)
    assert (overview.jobs, overview.active_jobs) == (3, 1)
    assert overview.jobs_started_per_hour == pytest.approx(3 / 24, abs=1e-3)
    assert overview.rows_processed == 310
    assert overview.success_rate == pytest.approx(96.8, abs=0.05)  # 300 of 310
    # 310 rows over 60 + 120 + 300 (running for 5 min) seconds
    assert overview.rows_per_hour == pytest.approx(310 * 3600 / 480, abs=0.1)
    assert overview.avg_seconds_per_row == pytest.approx(480 / 310, abs=1e-3)
    assert (overview.csv_bytes_total, overview.csv_bytes_max) == (4500, 3000)
    assert overview.csv_bytes_avg == 1500.0
    enrichment = overview.per_agent["company-enrichment-agent"]
    assert (enrichment.jobs, enrichment.rows_processed, enrichment.rows_failed) == (2, 110, 10)
    assert overview.per_agent["ticket-classifier-agent"].success_rate == 100.0


def test_overview_of_nothing():
    overview = compute_overview([], now=NOW)
    assert overview.jobs == 0 and overview.rows_per_hour is None and overview.success_rate is None
    assert overview.csv_bytes_max is None and overview.per_agent == {}


def test_live_progress_keeps_a_succeeded_execution_running_until_the_results_step():
    record = job("live", seconds=None)
    live = with_live_progress(record, execution_status="SUCCEEDED", succeeded=100, failed=0)
    assert live.status == "RUNNING" and live.rows_processed == 100


def test_live_progress_of_a_failed_execution_is_final():
    record = job("dead", seconds=None)
    stopped = NOW - timedelta(minutes=1)
    live = with_live_progress(record, execution_status="FAILED", succeeded=40, failed=2, stopped_at=stopped,
                              error="ChunkFailed worker gone")
    assert (live.status, live.finished_at, live.error, live.rows_processed) == ("FAILED", stopped,
                                                                                "ChunkFailed worker gone", 42)


def test_metric_points_tagged_and_per_agent():
    started = {(p.kind, p.name): p for p in job_started_points(job("a", size=2048, total=100))}
    assert started[("incr", "batchorch.jobs_started")].tags == {"agent": "company-enrichment-agent"}
    assert started[("incr", "batchorch.jobs_started.company-enrichment-agent")].tags == {}
    assert started[("gauge", "batchorch.csv_size_bytes")].value == 2048
    assert started[("gauge", "batchorch.csv_rows")].value == 100

    finished = {(p.kind, p.name): p for p in job_finished_points(job("a", seconds=50, succeeded=90, failed=10))}
    assert finished[("incr", "batchorch.rows_processed")].value == 100
    assert finished[("incr", "batchorch.rows_failed")].tags == {"agent": "company-enrichment-agent",
                                                                 "status": "SUCCEEDED"}
    assert finished[("gauge", "batchorch.success_rate")].value == 90.0
    assert finished[("gauge", "batchorch.rows_per_hour")].value == 7200.0
    assert finished[("timing", "batchorch.time_per_row")].value == pytest.approx(500.0)  # ms
    assert finished[("timing", "batchorch.job_duration.company-enrichment-agent")].value == pytest.approx(50_000)
