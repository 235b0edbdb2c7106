"""How a batch's rows become work chunks, and how its agent calls in flight are split between them.

The analysis cuts the CSV every ``chunk_rows`` rows (100 unless the request sets it). A chunk runs its rows on
``row_concurrency`` lanes and ``chunk_concurrency`` chunks run side by side, so the batch has
``chunk_concurrency x row_concurrency <= concurrency`` agent calls in flight. With 20 cuts of 100 rows and a
concurrency of 50, every chunk would get 2 lanes (40 calls in flight, not 50) and take 50 row-latencies where 40
would do. When the request leaves ``chunk_rows`` empty, neighbouring cuts are therefore packed into fewer, larger
work chunks (10 chunks of 200 rows x 5 lanes: all 50 slots busy, 40 row-latencies): ``pack_plan`` picks the
number of work chunks whose slowest lane has the fewest rows.

Ties go to the fewest chunks that are still at least ``SPREAD_CHUNKS`` (so they spread over several worker
processes): each chunk costs the engine a Map item (a state transition, billed on AWS), a message and a few
requests, and on the emulator about 30 ms of CPU. No work chunk gets more than ``MAX_PACKED_ROWS`` rows: a chunk
is read and kept whole, and redone whole after its worker dies.
"""

from __future__ import annotations

import math

from pydantic import BaseModel

from airflow_provider_batchorch.core.models import ChunkSpec

SPREAD_CHUNKS = 8
MAX_PACKED_ROWS = 1000


class ChunkPlan(BaseModel):
    """``chunk_count`` work chunks, ``chunk_concurrency`` of them in flight with ``row_concurrency`` lanes each."""

    chunk_count: int
    chunk_concurrency: int
    row_concurrency: int


def split_concurrency(concurrency: int, chunk_count: int) -> tuple[int, int]:
    """(chunks in flight, lanes per chunk): as many chunks side by side as possible, each an equal share of the
    calls in flight; their product never exceeds ``concurrency``."""
    chunk_concurrency = max(1, min(concurrency, chunk_count))
    return chunk_concurrency, max(1, concurrency // chunk_concurrency)


def rounds(total_rows: int, cut_rows: int, count: int, concurrency: int) -> int:
    """Row-latencies the batch takes as ``count`` work chunks of neighbouring cuts: each wave of chunks in flight
    lasts as long as its largest chunk's busiest lane. The largest chunk is the first (every cut but the last is
    full, and the first chunks get the extra cuts)."""
    in_flight, lanes = split_concurrency(concurrency, count)
    largest = min(math.ceil(cut_count(total_rows, cut_rows) / count) * cut_rows, total_rows)
    return math.ceil(count / in_flight) * math.ceil(largest / lanes)


def cut_count(total_rows: int, cut_rows: int) -> int:
    """The analysis' cuts: one every ``cut_rows`` rows, the last one possibly short."""
    return -(-total_rows // cut_rows)


def pack_plan(total_rows: int, cut_rows: int, concurrency: int, *, packable: bool) -> ChunkPlan:
    """The plan for ``total_rows`` rows cut every ``cut_rows`` rows; ``packable=False`` keeps one chunk per cut
    (the request set ``chunk_rows``)."""
    cuts = cut_count(total_rows, cut_rows)
    count = max(cuts, 1)
    if packable and cuts > 1:
        fewest = math.ceil(cuts / max(1, MAX_PACKED_ROWS // max(cut_rows, 1)))
        taken = {n: rounds(total_rows, cut_rows, n, concurrency) for n in range(fewest, cuts + 1)}
        best = min(taken.values())
        tied = [n for n, value in taken.items() if value == best]
        spread = [n for n in tied if n >= SPREAD_CHUNKS]
        count = min(spread) if spread else max(tied)
    chunk_concurrency, row_concurrency = split_concurrency(concurrency, count)
    return ChunkPlan(chunk_count=count, chunk_concurrency=chunk_concurrency, row_concurrency=row_concurrency)


def pack_chunks(cuts: list[ChunkSpec], count: int) -> list[ChunkSpec]:
    """``cuts`` (consecutive, row-aligned byte ranges) as ``count`` work chunks of neighbouring cuts, the first
    ``len(cuts) % count`` of them one cut larger."""
    if count >= len(cuts):
        return list(cuts)
    size, larger = divmod(len(cuts), count)
    chunks, start = [], 0
    for index in range(count):
        group = cuts[start:start + size + (1 if index < larger else 0)]
        start += len(group)
        chunks.append(ChunkSpec(chunk=index, start=group[0].start, end=group[-1].end,
                                rows=sum(cut.rows for cut in group), first_row=group[0].first_row))
    return chunks
