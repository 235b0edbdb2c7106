"""Packing the analysis' cuts into work chunks so that every agent call slot of the batch stays busy."""

import math

from hypothesis import given, settings, strategies as st

from airflow_provider_batchorch.core.chunk_packing import (
    MAX_PACKED_ROWS, SPREAD_CHUNKS, pack_chunks, pack_plan, rounds)
from airflow_provider_batchorch.core.configure import build_batch_config, work_chunks
from airflow_provider_batchorch.core.models import BatchRequest, ChunkSpec, CsvProfile
from airflow_provider_batchorch.core.agent_spec import AgentSpec


def cuts_of(rows: int, cut_rows: int) -> list[ChunkSpec]:
    count = math.ceil(rows / cut_rows)
    return [ChunkSpec(chunk=i, start=1000 + 37 * i * cut_rows, end=1000 + 37 * min((i + 1) * cut_rows, rows),
                      rows=min(cut_rows, rows - i * cut_rows), first_row=i * cut_rows) for i in range(count)]


def plan(rows: int, concurrency: int, cut_rows: int = 100, packable: bool = True):
    return pack_plan(rows, cut_rows, concurrency, packable=packable)


def test_concurrency_50_over_20_cuts_uses_all_50_slots():
    # One chunk per cut: 20 chunks x 2 lanes = 40 calls in flight, 50 row-latencies. Packed: 10 x 5 = 50, 40.
    assert rounds(2000, 100, 20, 50) == 50
    packed = plan(2000, 50)
    assert (packed.chunk_count, packed.chunk_concurrency, packed.row_concurrency) == (10, 10, 5)
    assert rounds(2000, 100, packed.chunk_count, 50) == 40 == 2000 / 50


def test_ties_go_to_the_fewest_chunks_that_still_spread():
    # 20 cuts x 10 lanes is ideal already; so are 10 x 20 (fewer Map items), 5 x 40 (too few to spread)
    assert (plan(2000, 200).chunk_count, plan(2000, 200).row_concurrency) == (SPREAD_CHUNKS + 2, 20)
    ten_thousand = plan(10_000, 200)
    assert SPREAD_CHUNKS <= ten_thousand.chunk_count < 100
    assert rounds(10_000, 100, ten_thousand.chunk_count, 200) == 50
    assert plan(250, 10).chunk_count == 1  # 25 row-latencies on 10 lanes; 3 chunks of 3 lanes would take 34


def test_many_rows_keep_chunks_of_at_most_max_packed_rows():
    million = plan(1_000_000, 200)
    assert million.chunk_count == 1_000_000 // MAX_PACKED_ROWS and million.chunk_concurrency == 200


def test_a_set_chunk_rows_is_kept():
    fixed = plan(2000, 50, packable=False)
    assert (fixed.chunk_count, fixed.chunk_concurrency, fixed.row_concurrency) == (20, 20, 2)


@settings(max_examples=200, deadline=None)
@given(rows=st.integers(1, 20_000), cut_rows=st.sampled_from([1, 7, 100, 250]), concurrency=st.integers(1, 1000))
def test_packing_keeps_every_row_in_order_and_never_exceeds_concurrency(rows, cut_rows, concurrency):
    cuts = cuts_of(rows, cut_rows)
    chosen = pack_plan(rows, cut_rows, concurrency, packable=True)
    assert chosen.chunk_concurrency * chosen.row_concurrency <= concurrency
    chunks = pack_chunks(cuts, chosen.chunk_count)
    assert [c.chunk for c in chunks] == list(range(chosen.chunk_count))
    assert sum(c.rows for c in chunks) == rows and chunks[0].start == cuts[0].start and chunks[-1].end == cuts[-1].end
    for before, after in zip(chunks, chunks[1:]):
        assert before.end == after.start and before.first_row + before.rows == after.first_row
    assert max(c.rows for c in chunks) <= max(MAX_PACKED_ROWS, cut_rows)
    # never slower (in row-latencies) than one chunk per cut
    assert rounds(rows, cut_rows, chosen.chunk_count, concurrency) <= rounds(rows, cut_rows, len(cuts), concurrency)


def test_the_config_and_its_manifest_agree():
    cuts = cuts_of(2000, 100)
    profile = CsvProfile(uri="s3://b/k.csv", size_bytes=cuts[-1].end, columns=["text"], row_count=2000,
                         chunk_rows=100, chunks=cuts, data_types={"text": "string"}, header_end=1000)
    agent = AgentSpec.model_validate({"name": "a", "input_fields": [{"name": "text"}], "output_schema": {
        "type": "object", "properties": {"x": {"type": "string"}}}, "invocation": {"kind": "llm", "model": "test"}})
    config = build_batch_config(BatchRequest(csv_uri="s3://b/k.csv", agent="a", concurrency=50), profile, agent,
                                batch_id="b", prefix_uri="s3://b/p/")
    chunks = work_chunks(profile, config)
    assert config.chunk_count == len(chunks) == 10 and config.chunk_concurrency * config.row_concurrency == 50
    fixed = build_batch_config(BatchRequest(csv_uri="s3://b/k.csv", agent="a", concurrency=50, chunk_rows=100),
                               profile, agent, batch_id="b", prefix_uri="s3://b/p/")
    assert fixed.chunk_count == len(work_chunks(profile, fixed)) == 20
