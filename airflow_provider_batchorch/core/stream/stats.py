"""Throughput and lag of a stream: each worker's progress record, the stream's view of them plus its queue, and
when a watched stream should stop.

Lag is two figures: the rows still waiting (``backlog``: visible in the source queue, ``in_flight``: taken but
not yet deleted) and the latency from arrival (the producer's ``sent_at``) to the answer, p50/p95 over each
worker's last ``LATENCY_WINDOW`` rows.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, Field

LATENCY_WINDOW = 1000


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0-100) of ``values``; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[min(rank, len(ordered)) - 1])


class LatencyWindow:
    """The last ``size`` latencies (ms)."""

    def __init__(self, size: int = LATENCY_WINDOW) -> None:
        self.values: deque[float] = deque(maxlen=size)

    def add(self, milliseconds: float) -> None:
        self.values.append(max(0.0, milliseconds))

    def p(self, q: float) -> float:
        return round(percentile(list(self.values), q), 1)


class WorkerStreamStats(BaseModel):
    """One stream worker's progress record (the ledger's ``workers`` item), rewritten every few seconds."""

    worker_id: str
    started_at: float = Field(description="epoch seconds")
    updated_at: float = Field(description="epoch seconds")
    rows_answered: int = 0
    rows_failed: int = 0
    redeliveries_skipped: int = Field(0, description="deliveries of an id already answered and in a part")
    parts_written: int = 0
    latency_p50_ms: float = 0.0
    latency_p95_ms: float = 0.0
    stopped: bool = False


class StreamStats(BaseModel):
    """The stream as its monitor sees it: every worker's counts summed, the queue's depth, the rate since the
    previous look."""

    stream_id: str
    workers_running: int = 0
    rows_answered: int = 0
    rows_failed: int = 0
    redeliveries_skipped: int = 0
    parts_written: int = 0
    backlog: int = Field(0, description="rows waiting in the source queue")
    in_flight: int = Field(0, description="rows taken by a worker, not yet answered and in a part")
    rows_per_second: float = 0.0
    latency_p50_ms: float = Field(0.0, description="the slowest worker's p50")
    latency_p95_ms: float = Field(0.0, description="the slowest worker's p95")
    elapsed_seconds: float = 0.0


def combine(stream_id: str, workers: Iterable[WorkerStreamStats], *, backlog: int, in_flight: int, now: float,
            stale_after: float = 30.0) -> StreamStats:
    """The stream's figures from its workers' records (a record older than ``stale_after`` s: not running)."""
    workers = list(workers)
    return StreamStats(
        stream_id=stream_id,
        workers_running=sum(1 for w in workers if not w.stopped and now - w.updated_at < stale_after),
        rows_answered=sum(w.rows_answered for w in workers),
        rows_failed=sum(w.rows_failed for w in workers),
        redeliveries_skipped=sum(w.redeliveries_skipped for w in workers),
        parts_written=sum(w.parts_written for w in workers),
        backlog=backlog,
        in_flight=in_flight,
        latency_p50_ms=max((w.latency_p50_ms for w in workers), default=0.0),
        latency_p95_ms=max((w.latency_p95_ms for w in workers), default=0.0),
    )


def stats_line(stats: StreamStats) -> str:
    return (f"stream {stats.stream_id}: {stats.rows_answered} rows answered ({stats.rows_failed} failed), "
            f"{stats.rows_per_second:.1f} rows/s, lag {stats.backlog} waiting + {stats.in_flight} in flight, "
            f"latency p50 {stats.latency_p50_ms:.0f} ms p95 {stats.latency_p95_ms:.0f} ms, "
            f"{stats.workers_running} workers, {stats.parts_written} parts, {stats.elapsed_seconds:.0f} s")


class StopRule(BaseModel):
    """When a watched stream ends (besides its stop marker): after ``max_duration_seconds``, or after
    ``stop_after_idle_seconds`` with nothing answered and nothing waiting. None: never."""

    max_duration_seconds: float | None = Field(None, gt=0, title="Max duration (s)", description="Stop the "
                                               "stream this long after it started; empty: no limit")
    stop_after_idle_seconds: float | None = Field(None, gt=0, title="Stop after idle (s)", description="Stop the "
                                                  "stream once nothing arrived or waited for this long; empty: never")


class StreamWatch:
    """Feeds successive ``StreamStats`` in; fills in the rate and elapsed time and says why to stop, if so."""

    def __init__(self, rule: StopRule, started: float) -> None:
        self.rule, self.started = rule, started
        self.previous: tuple[float, int] | None = None
        self.idle_since: float | None = None

    def observe(self, stats: StreamStats, now: float) -> str | None:
        stats.elapsed_seconds = round(now - self.started, 1)
        if self.previous is not None and now > self.previous[0]:
            stats.rows_per_second = round((stats.rows_answered - self.previous[1]) / (now - self.previous[0]), 1)
        moved = self.previous is None or stats.rows_answered != self.previous[1]
        self.previous = (now, stats.rows_answered)
        if moved or stats.backlog or stats.in_flight:
            self.idle_since = None
        elif self.idle_since is None:
            self.idle_since = now
        if self.rule.max_duration_seconds is not None and now - self.started >= self.rule.max_duration_seconds:
            return f"max_duration_seconds ({self.rule.max_duration_seconds:g}) reached"
        idle = self.rule.stop_after_idle_seconds
        if idle is not None and self.idle_since is not None and now - self.idle_since >= idle:
            return f"idle for stop_after_idle_seconds ({idle:g})"
        return None
