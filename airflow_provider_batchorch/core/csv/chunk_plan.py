"""The chunk plan: byte ranges of ``rows_per_chunk`` data rows each, at most ``max_chunks`` of them."""

from __future__ import annotations

import math

import numpy as np

from airflow_provider_batchorch.core.models import ChunkSpec


class ChunkPlanner:
    """Keeps the byte offset after every ``rows_per_chunk``-th data row; doubles the rows when there are too many."""

    def __init__(self, rows_per_chunk: int, max_chunks: int) -> None:
        self.rows_per_chunk = rows_per_chunk
        self._max_chunks = max_chunks
        self._cuts: list[int] = []
        self.rows = 0

    def add(self, ends: np.ndarray) -> None:
        first = (-self.rows - 1) % self.rows_per_chunk
        self._cuts.extend(ends[first :: self.rows_per_chunk].tolist())
        self.rows += len(ends)
        while len(self._cuts) > self._max_chunks:
            self._double()

    def chunks(self, start: int, end: int) -> list[ChunkSpec]:
        while math.ceil(self.rows / self.rows_per_chunk) > self._max_chunks:
            self._double()
        count = math.ceil(self.rows / self.rows_per_chunk)
        bounds = [start, *self._cuts[: count - 1], end]
        return [
            ChunkSpec(
                chunk=index,
                start=bounds[index],
                end=bounds[index + 1],
                rows=min(self.rows_per_chunk, self.rows - index * self.rows_per_chunk),
                first_row=index * self.rows_per_chunk,
            )
            for index in range(count)
        ]

    def _double(self) -> None:
        # The cut after row 2k*(j+1) is the cut after row k*(2j+2): every second one.
        self._cuts = self._cuts[1::2]
        self.rows_per_chunk *= 2
