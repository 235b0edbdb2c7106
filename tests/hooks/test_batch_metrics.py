"""Job metrics reach a real StatsD listener through Airflow's metrics interface (as a task process sets it up)."""

from __future__ import annotations

import socket
import time

import pytest

from airflow_provider_batchorch.hooks.batch_metrics import emit_metrics
from airflow_provider_batchorch.core.metrics import MetricPoint

pytest.importorskip("statsd", reason="Airflow's StatsD backend needs the statsd package (apache-airflow[statsd])")


@pytest.fixture
def statsd_listener(monkeypatch):
    """A UDP socket on 127.0.0.1 and Airflow's stats pointed at it, reset afterwards."""
    from airflow.sdk._shared.observability.metrics import stats as stats_state
    from airflow.sdk.observability import stats
    from airflow.sdk.observability.metrics.statsd_logger import get_statsd_logger

    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(2)
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_ON", "True")
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_HOST", "127.0.0.1")
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_PORT", str(listener.getsockname()[1]))
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_PREFIX", "airflow")
    previous = stats_state._factory
    stats.initialize(factory=get_statsd_logger, export_legacy_names=False)
    yield listener
    stats.initialize(factory=previous or stats_state.NoStatsLogger, export_legacy_names=True)
    listener.close()


def received(listener: socket.socket, wanted: int) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + 2
    while len(lines) < wanted and time.monotonic() < deadline:
        try:
            lines += listener.recv(65535).decode().splitlines()
        except socket.timeout:
            break
    return lines


def test_points_arrive_as_statsd_counters_gauges_and_timers(statsd_listener):
    emit_metrics([
        MetricPoint(kind="incr", name="batchorch.jobs_started.company-enrichment-agent", value=1),
        MetricPoint(kind="incr", name="batchorch.rows_processed.company-enrichment-agent", value=500),
        MetricPoint(kind="gauge", name="batchorch.success_rate.company-enrichment-agent", value=97.0),
        MetricPoint(kind="timing", name="batchorch.time_per_row.company-enrichment-agent", value=8.0),
    ])
    lines = received(statsd_listener, 4)
    assert "airflow.batchorch.jobs_started.company-enrichment-agent:1|c" in lines
    assert "airflow.batchorch.rows_processed.company-enrichment-agent:500|c" in lines
    assert "airflow.batchorch.success_rate.company-enrichment-agent:97.0|g" in lines
    assert any(line.startswith("airflow.batchorch.time_per_row.company-enrichment-agent:8") and line.endswith("|ms")
               for line in lines)


def test_a_broken_backend_never_fails_the_caller(monkeypatch, caplog):
    from airflow.sdk.observability import stats

    def broken(*args, **kwargs):
        raise OSError("statsd host unreachable")

    monkeypatch.setattr(stats, "incr", broken)
    emit_metrics([MetricPoint(kind="incr", name="batchorch.jobs_started", value=1)])
    assert "Could not emit metric batchorch.jobs_started" in caplog.text
