"""Batch job records and the metrics the seed names, computed from them.

A ``JobRecord`` is kept per batch run: written when the execution starts (status RUNNING) and again when the
results are assembled (final counts). Everything here is pure: the records come in, numbers come out.

Metric definitions (per job, and over a window of recent jobs, overall and per agent):

- **jobs started per hour**: jobs whose ``started_at`` falls in the window, divided by the window's hours;
- **rows per hour**: rows processed divided by the hours the jobs ran (throughput while running);
- **success rate**: rows succeeded / rows processed, in percent;
- **average time per row**: wall-clock seconds a job ran divided by its rows processed (so it falls as
  concurrency rises; the agent's own latency per row is in the output CSV's ``_latency_ms``);
- **CSV sizes**: total, average and largest input size in bytes;
- **cost**: USD estimated before each job (``BatchConfig.cost_estimate``) and spent by it (its tokens at the
  price table's prices, ``BatchSummary.actual_cost_usd``), summed per agent over the jobs that have a figure.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Literal

from pydantic import BaseModel, Field

from airflow_provider_batchorch.core.actual_cost import AgentCost
from airflow_provider_batchorch.core.execution_status import FAILED, RUNNING
from airflow_provider_batchorch.core.models import BatchConfig, BatchSummary
from airflow_provider_batchorch.core.throughput import ThroughputPoint

METRIC_PREFIX = "batchorch"


class JobRecord(BaseModel):
    """One batch run, as the dashboard and the metrics see it."""

    batch_id: str
    agent: str
    agent_version: str | None = None
    status: str = RUNNING
    started_at: datetime
    finished_at: datetime | None = None
    csv_uri: str
    csv_size_bytes: int | None = None
    total_rows: int
    chunk_count: int = 0
    rows_succeeded: int = 0
    rows_failed: int = 0
    output_csv_uri: str | None = None
    execution_arn: str | None = None
    progress_table: str | None = None
    dag_id: str | None = None
    run_id: str | None = None
    failure_reasons: dict[str, int] = Field(default_factory=dict)
    error: str | None = Field(None, description="Why the execution failed, when it did")
    execution_mode: str = "realtime"
    estimated_cost_usd: float | None = Field(None, description="USD estimated before the job ran")
    actual_cost_usd: float | None = Field(None, description="USD its tokens cost, once finished")
    input_tokens: int = 0
    output_tokens: int = 0
    input_tokens_per_row: float = 0.0
    output_tokens_per_row: float = 0.0
    cost_by_agent: dict[str, AgentCost] = Field(default_factory=dict)
    throughput: list[ThroughputPoint] = Field(default_factory=list, description="Rows per minute over the run")

    @property
    def rows_processed(self) -> int:
        return self.rows_succeeded + self.rows_failed

    @property
    def is_finished(self) -> bool:
        return self.status != RUNNING

    @property
    def percent_done(self) -> float:
        if not self.total_rows:
            return 100.0 if self.is_finished else 0.0
        return round(min(100.0, 100.0 * self.rows_processed / self.total_rows), 1)

    def elapsed_seconds(self, now: datetime) -> float:
        end = self.finished_at or now
        return max(0.0, (end - self.started_at).total_seconds())

    def success_rate(self) -> float | None:
        return _percent(self.rows_succeeded, self.rows_processed)

    def rows_per_hour(self, now: datetime) -> float | None:
        return _per_hour(self.rows_processed, self.elapsed_seconds(now))

    def seconds_per_row(self, now: datetime) -> float | None:
        if not self.rows_processed:
            return None
        return round(self.elapsed_seconds(now) / self.rows_processed, 3)


def started_job_record(
    config: BatchConfig,
    *,
    started_at: datetime,
    execution_arn: str | None = None,
    csv_size_bytes: int | None = None,
    progress_table: str | None = None,
    dag_id: str | None = None,
    run_id: str | None = None,
) -> JobRecord:
    estimate = config.cost_estimate
    return JobRecord(
        batch_id=config.batch_id,
        agent=config.agent.name,
        agent_version=config.agent.version,
        started_at=started_at,
        csv_uri=config.csv_uri,
        csv_size_bytes=csv_size_bytes,
        total_rows=config.total_rows,
        chunk_count=config.chunk_count,
        output_csv_uri=config.output_uri,
        execution_arn=execution_arn,
        progress_table=progress_table,
        dag_id=dag_id,
        run_id=run_id,
        execution_mode=estimate.execution_mode if estimate else "realtime",
        estimated_cost_usd=estimate.cost_usd if estimate else None,
    )


def finished_job_record(record: JobRecord, summary: BatchSummary, *, finished_at: datetime) -> JobRecord:
    """The record once the results step has summarised the batch."""
    return record.model_copy(
        update={
            "status": summary.status,
            "finished_at": finished_at,
            "rows_succeeded": summary.rows_succeeded,
            "rows_failed": summary.rows_failed,
            "output_csv_uri": summary.output_csv_uri,
            "failure_reasons": dict(summary.failure_reasons),
            "execution_arn": summary.execution_arn or record.execution_arn,
            "estimated_cost_usd": summary.estimated_cost_usd if summary.estimated_cost_usd is not None
            else record.estimated_cost_usd,
            "actual_cost_usd": summary.actual_cost_usd,
            "input_tokens": summary.input_tokens,
            "output_tokens": summary.output_tokens,
            "input_tokens_per_row": summary.input_tokens_per_row,
            "output_tokens_per_row": summary.output_tokens_per_row,
            "cost_by_agent": dict(summary.cost_by_agent),
            "throughput": list(summary.throughput),
        }
    )


def with_live_progress(
    record: JobRecord, *, execution_status: str, succeeded: int, failed: int,
    stopped_at: datetime | None = None, error: str | None = None,
) -> JobRecord:
    """A running job's record with the processor's current counters and execution state.

    An execution that SUCCEEDED stays RUNNING here until the results step has written the final record; one that
    FAILED, TIMED_OUT or ABORTED is final as it is (no results step runs after it).
    """
    update: dict = {"rows_succeeded": succeeded, "rows_failed": failed}
    if execution_status in FAILED:  # no results step runs after these
        update.update(status=execution_status, finished_at=stopped_at, error=error or record.error)
    return record.model_copy(update=update)


class AgentMetrics(BaseModel):
    agent: str
    jobs: int
    rows_processed: int
    rows_succeeded: int
    rows_failed: int
    success_rate: float | None
    rows_per_hour: float | None
    avg_seconds_per_row: float | None
    csv_bytes_total: int
    estimated_cost_usd: float | None = Field(None, description="Sum over the jobs that have an estimate")
    actual_cost_usd: float | None = Field(None, description="Sum over the finished jobs with a known cost")


class AgentCostTotal(BaseModel):
    """An agent's cost over the window: from each job's ``cost_by_agent`` (every agent of a cascade), or the
    job's own estimate while it runs."""

    agent: str
    jobs: int = 0
    rows: int = 0
    estimated_cost_usd: float | None = None
    actual_cost_usd: float | None = None


class MetricsOverview(BaseModel):
    window_hours: float
    jobs: int
    active_jobs: int
    jobs_started_per_hour: float
    rows_processed: int
    rows_per_hour: float | None
    success_rate: float | None
    avg_seconds_per_row: float | None
    csv_bytes_total: int
    csv_bytes_avg: float | None
    csv_bytes_max: int | None
    per_agent: dict[str, AgentMetrics]
    cost_per_agent: list[AgentCostTotal] = Field(default_factory=list)
    failure_reasons: dict[str, int] = Field(default_factory=dict, description="Rows per reason, most first")


def compute_overview(
    records: list[JobRecord], *, now: datetime | None = None, window: timedelta = timedelta(hours=24)
) -> MetricsOverview:
    """The seed's overview (active jobs, rows/hour, success rate, time/row) over jobs started in ``window``."""
    now = now or datetime.now(timezone.utc)
    recent = [r for r in records if r.started_at >= now - window]
    hours = window.total_seconds() / 3600
    sizes = [r.csv_size_bytes for r in recent if r.csv_size_bytes is not None]
    totals = _totals(recent, now)
    by_agent: dict[str, list[JobRecord]] = {}
    for record in recent:
        by_agent.setdefault(record.agent, []).append(record)
    return MetricsOverview(
        window_hours=hours,
        jobs=len(recent),
        active_jobs=sum(1 for r in recent if not r.is_finished),
        jobs_started_per_hour=round(len(recent) / hours, 3) if hours else 0.0,
        rows_processed=totals.rows_processed,
        rows_per_hour=totals.rows_per_hour,
        success_rate=totals.success_rate,
        avg_seconds_per_row=totals.avg_seconds_per_row,
        csv_bytes_total=sum(sizes),
        csv_bytes_avg=round(sum(sizes) / len(sizes), 1) if sizes else None,
        csv_bytes_max=max(sizes) if sizes else None,
        per_agent={agent: _totals(jobs, now, agent) for agent, jobs in sorted(by_agent.items())},
        cost_per_agent=cost_per_agent(recent),
        failure_reasons=failure_reasons(recent),
    )


def cost_per_agent(records: list[JobRecord]) -> list[AgentCostTotal]:
    """Estimated and actual USD per agent (sums of the known figures; None when no job has one)."""
    estimated: dict[str, list[float | None]] = {}
    actual: dict[str, list[float | None]] = {}
    totals: dict[str, AgentCostTotal] = {}
    for record in records:
        shares = list(record.cost_by_agent.values()) or [
            AgentCost(agent=record.agent, estimated_cost_usd=record.estimated_cost_usd, cost_usd=None)]
        for share in shares:
            total = totals.setdefault(share.agent, AgentCostTotal(agent=share.agent))
            total.jobs += 1
            total.rows += share.rows
            estimated.setdefault(share.agent, []).append(share.estimated_cost_usd)
            actual.setdefault(share.agent, []).append(share.cost_usd)
    for agent, total in totals.items():
        total.estimated_cost_usd = _sum_known(estimated[agent])
        total.actual_cost_usd = _sum_known(actual[agent])
    return sorted(totals.values(), key=lambda t: (-(t.actual_cost_usd or t.estimated_cost_usd or 0), t.agent))


def failure_reasons(records: list[JobRecord], top: int = 8) -> dict[str, int]:
    """Failed rows per reason over ``records``, the ``top`` most frequent first."""
    counts: dict[str, int] = {}
    for record in records:
        for reason, rows in record.failure_reasons.items():
            counts[reason] = counts.get(reason, 0) + rows
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top])


def _totals(records: list[JobRecord], now: datetime, agent: str = "*") -> AgentMetrics:
    succeeded = sum(r.rows_succeeded for r in records)
    failed = sum(r.rows_failed for r in records)
    processed = succeeded + failed
    seconds = sum(r.elapsed_seconds(now) for r in records if r.rows_processed)
    return AgentMetrics(
        agent=agent,
        jobs=len(records),
        rows_processed=processed,
        rows_succeeded=succeeded,
        rows_failed=failed,
        success_rate=_percent(succeeded, processed),
        rows_per_hour=_per_hour(processed, seconds),
        avg_seconds_per_row=round(seconds / processed, 3) if processed else None,
        csv_bytes_total=sum(r.csv_size_bytes or 0 for r in records),
        estimated_cost_usd=_sum_known(r.estimated_cost_usd for r in records),
        actual_cost_usd=_sum_known(r.actual_cost_usd for r in records),
    )


class MetricPoint(BaseModel):
    """One value for Airflow's metrics (StatsD / OpenTelemetry): ``Stats.<kind>(name, value, tags=tags)``."""

    kind: Literal["incr", "gauge", "timing"]
    name: str
    value: float
    tags: dict[str, str] = Field(default_factory=dict)


def job_started_points(record: JobRecord) -> list[MetricPoint]:
    tags = {"agent": record.agent}
    points = [
        MetricPoint(kind="incr", name=f"{METRIC_PREFIX}.jobs_started", value=1, tags=tags),
        MetricPoint(kind="gauge", name=f"{METRIC_PREFIX}.csv_rows", value=record.total_rows, tags=tags),
    ]
    if record.csv_size_bytes is not None:
        points.append(MetricPoint(kind="gauge", name=f"{METRIC_PREFIX}.csv_size_bytes",
                                  value=record.csv_size_bytes, tags=tags))
    return _with_per_agent_names(points, record.agent)


def job_finished_points(record: JobRecord) -> list[MetricPoint]:
    tags = {"agent": record.agent, "status": record.status}
    now = record.finished_at or datetime.now(timezone.utc)
    points = [
        MetricPoint(kind="incr", name=f"{METRIC_PREFIX}.jobs_finished", value=1, tags=tags),
        MetricPoint(kind="incr", name=f"{METRIC_PREFIX}.rows_processed", value=record.rows_processed, tags=tags),
        MetricPoint(kind="incr", name=f"{METRIC_PREFIX}.rows_succeeded", value=record.rows_succeeded, tags=tags),
        MetricPoint(kind="incr", name=f"{METRIC_PREFIX}.rows_failed", value=record.rows_failed, tags=tags),
        MetricPoint(kind="timing", name=f"{METRIC_PREFIX}.job_duration", value=record.elapsed_seconds(now) * 1000,
                    tags=tags),
    ]
    optional = {
        "success_rate": record.success_rate(),
        "rows_per_hour": record.rows_per_hour(now),
        "estimated_cost_usd": record.estimated_cost_usd,
        "cost_usd": record.actual_cost_usd,
    }
    points += [MetricPoint(kind="gauge", name=f"{METRIC_PREFIX}.{name}", value=value, tags=tags)
               for name, value in optional.items() if value is not None]
    seconds_per_row = record.seconds_per_row(now)
    if seconds_per_row is not None:
        points.append(MetricPoint(kind="timing", name=f"{METRIC_PREFIX}.time_per_row", value=seconds_per_row * 1000,
                                  tags=tags))
    return _with_per_agent_names(points, record.agent)


def _with_per_agent_names(points: list[MetricPoint], agent: str) -> list[MetricPoint]:
    """Each point also under ``<name>.<agent>`` with no tags, for plain StatsD (which drops tags)."""
    suffix = "".join(c if c.isalnum() or c in "_-" else "_" for c in agent)
    return points + [point.model_copy(update={"name": f"{point.name}.{suffix}", "tags": {}}) for point in points]


def _sum_known(values) -> float | None:
    known = [value for value in values if value is not None]
    return round(sum(known), 6) if known else None


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _per_hour(count: int, seconds: float) -> float | None:
    return round(count * 3600 / seconds, 1) if count and seconds > 0 else None
