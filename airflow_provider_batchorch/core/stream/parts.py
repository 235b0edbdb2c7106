"""The rolling output part of one stream worker: answered rows collect until the part holds ``max_rows`` or its
first row is ``max_seconds`` old; then the worker writes them as one CSV part under the stream's ``parts/``.

Part names sort by time: ``part-<epoch ms>-<worker>-<seq>.csv``, so listing the prefix reads them in the order
they were written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class AnsweredRow:
    message_id: str
    row: list[str]
    receipt_handle: str


class RollingPart:
    def __init__(self, max_rows: int, max_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_rows, self.max_seconds, self.clock = max_rows, max_seconds, clock
        self.rows: list[AnsweredRow] = []
        self.opened_at: float | None = None

    def add(self, row: AnsweredRow) -> None:
        if not self.rows:
            self.opened_at = self.clock()
        self.rows.append(row)

    def due(self) -> bool:
        if not self.rows:
            return False
        return len(self.rows) >= self.max_rows or self.clock() - (self.opened_at or 0.0) >= self.max_seconds

    def take(self) -> list[AnsweredRow]:
        rows, self.rows, self.opened_at = self.rows, [], None
        return rows

    def receipt_handles(self) -> list[str]:
        return [row.receipt_handle for row in self.rows]


def part_uri(parts_prefix: str, worker_id: str, seq: int, now: float | None = None) -> str:
    millis = int((time.time() if now is None else now) * 1000)
    return f"{parts_prefix}part-{millis:013d}-{worker_id}-{seq:06d}.csv"
