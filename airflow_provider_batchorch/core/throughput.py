"""Rows per minute over a run, from the times its rows finished.

A worker records, per chunk, how many rows finished in each second (``ChunkSummary.rows_finished``, made by
``finish_histogram``); a chunk without them (written before) counts all its rows at its ``finished_at``. The run
is cut into equal buckets (1 s, 2 s, 5 s ... 1 h wide, as narrow as keeps the series at most ``MAX_POINTS``
long); each point is the rows that finished in its bucket, as a rate per minute.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, Field

MAX_POINTS = 60
BUCKET_SECONDS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)


class ThroughputPoint(BaseModel):
    at_seconds: float = Field(description="Start of the bucket, seconds after the run's first chunk started")
    rows: int = Field(description="Rows that finished in this bucket")
    rows_per_minute: float


def finish_histogram(finished_at: Iterable[float]) -> list[tuple[int, int]]:
    """``[(unix second, rows finished in it), ...]`` in time order, from one ``time.time()`` per row."""
    return sorted(Counter(int(moment) for moment in finished_at).items())


def bucket_seconds(span_seconds: float) -> int:
    return next((width for width in BUCKET_SECONDS if span_seconds / width < MAX_POINTS), BUCKET_SECONDS[-1])


def rows_per_minute(chunks: Iterable[tuple[datetime, datetime, int, list[tuple[int, int]]]]) -> list[ThroughputPoint]:
    """The series for chunks given as ``(started_at, finished_at, rows, rows_finished)``; empty without chunks."""
    chunks = list(chunks)
    if not chunks:
        return []
    start = min(started.timestamp() for started, *_ in chunks)
    events = [(second, rows) for _, finished, total, histogram in chunks
              for second, rows in (histogram or [(int(finished.timestamp()), total)])]
    offsets = [(max(0.0, second - int(start)), rows) for second, rows in events]
    width = bucket_seconds(max(offset for offset, _ in offsets))
    counts = [0] * (int(max(offset for offset, _ in offsets) // width) + 1)
    for offset, rows in offsets:
        counts[int(offset // width)] += rows
    return [ThroughputPoint(at_seconds=index * width, rows=rows, rows_per_minute=round(rows * 60 / width, 1))
            for index, rows in enumerate(counts)]
