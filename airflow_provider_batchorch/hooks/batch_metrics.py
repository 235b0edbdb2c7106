"""The job metrics (``core.metrics.MetricPoint``) sent through Airflow's stats client (StatsD / OpenTelemetry, as
configured): the ``emit`` the operators hand to ``aws.job_records.record_job``."""

from __future__ import annotations

import logging

from airflow.sdk.observability import stats

from airflow_provider_batchorch.core.metrics import MetricPoint

log = logging.getLogger(__name__)


def emit_metrics(points: list[MetricPoint]) -> None:
    """Send each point; a metrics backend problem is logged as a warning and never fails the batch."""
    for point in points:
        tags = point.tags or None
        try:
            if point.kind == "incr":
                stats.incr(point.name, count=int(point.value), tags=tags)
            elif point.kind == "gauge":
                stats.gauge(point.name, point.value, tags=tags)
            else:
                stats.timing(point.name, point.value, tags=tags)
        except Exception as exc:  # a metrics backend problem must never fail a batch
            log.warning("Could not emit metric %s: %s", point.name, exc)
