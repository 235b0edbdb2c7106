"""The stream's plain parts: message parsing, the rolling part, the stats and stop rule, micro-batching, config."""

from __future__ import annotations

import asyncio
import json

import pytest

from airflow_provider_batchorch.agents.kinds import build_agent_call
from airflow_provider_batchorch.core.errors import (
    MissingRequiredFieldError,
    TransformRuleError,
    UnknownOutputFieldError,
)
from airflow_provider_batchorch.core.stream.config import MESSAGE_ID_COLUMN, StreamPlaces, StreamRequest, build_stream_config
from airflow_provider_batchorch.core.stream.messages import parse_message
from airflow_provider_batchorch.core.stream.micro_batch import MicroBatcher
from airflow_provider_batchorch.core.stream.parts import AnsweredRow, RollingPart, part_uri
from airflow_provider_batchorch.core.row_processing import RowProcessor
from airflow_provider_batchorch.core.transforms.rules import TransformRules
from airflow_provider_batchorch.core.stream.stats import (
    StopRule, StreamStats, StreamWatch, WorkerStreamStats, combine, percentile, stats_line)
from tests.support import agents


@pytest.mark.parametrize("body, row_id, problem", [
    (json.dumps({"id": "a", "row": {"text": "Zoë 東京", "n": 3, "ok": True, "gone": None}}), "a", None),
    (json.dumps({"row": {"text": "x"}}), "sqs-id", None),              # no id: SQS's MessageId
    ("not json", "sqs-id", "not JSON"),
    ("[1, 2]", "sqs-id", "not a JSON object"),
    (json.dumps({"id": "b"}), "b", "row"),                              # the body's id is kept when it has one
    (json.dumps({"id": "c", "row": {"t": "x"}, "run": "rm -rf /"}), "c", "run"),  # unknown keys refused
    (json.dumps({"id": "", "row": {}}), "sqs-id", "id"),
])
def test_messages_are_parsed_or_refused_with_the_reason(body, row_id, problem):
    message, reason = parse_message(body, message_id="sqs-id", sent_timestamp=12.5)
    assert message.id == row_id
    assert (reason is None) if problem is None else (problem in reason)
    assert message.sent_at is not None


def test_cells_are_text_as_a_csv_reads_them():
    message, _ = parse_message(json.dumps({"id": "a", "row": {"text": "Zoë", "n": 3, "ok": True, "gone": None},
                                           "sent_at": 1.0}), message_id="m", sent_timestamp=None)
    assert message.cells() == {"text": "Zoë", "n": "3", "ok": "true", "gone": ""} and message.sent_at == 1.0


def test_a_part_is_due_at_its_row_count_or_age():
    now = [0.0]
    part = RollingPart(max_rows=3, max_seconds=5, clock=lambda: now[0])
    assert not part.due()
    part.add(AnsweredRow("a", ["x"], "r1"))
    now[0] = 4.9
    assert not part.due()
    now[0] = 5.0
    assert part.due()
    assert [row.message_id for row in part.take()] == ["a"] and not part.due()
    for name in "bcd":
        part.add(AnsweredRow(name, [name], name))
    assert part.due() and part.receipt_handles() == ["b", "c", "d"]
    assert part_uri("s3://b/p/parts/", "w1", 7, now=1.5) == "s3://b/p/parts/part-0000000001500-w1-000007.csv"


def test_percentiles_and_the_combined_view():
    assert percentile([], 95) == 0 and percentile([5], 50) == 5
    assert percentile(list(range(1, 101)), 50) == 50 and percentile(list(range(1, 101)), 95) == 95
    workers = [WorkerStreamStats(worker_id="a", started_at=0, updated_at=100, rows_answered=10, rows_failed=1,
                                 latency_p50_ms=20, latency_p95_ms=90),
               WorkerStreamStats(worker_id="b", started_at=0, updated_at=10, rows_answered=5, latency_p95_ms=300)]
    stats = combine("s", workers, backlog=7, in_flight=2, now=101)
    assert (stats.rows_answered, stats.rows_failed, stats.workers_running, stats.latency_p95_ms) == (15, 1, 1, 300)
    assert "15 rows answered (1 failed)" in stats_line(stats) and "7 waiting + 2 in flight" in stats_line(stats)


def test_the_watch_stops_after_the_max_duration_or_when_idle():
    watch = StreamWatch(StopRule(stop_after_idle_seconds=3), started=0)
    assert watch.observe(StreamStats(stream_id="s", rows_answered=0), 1) is None
    busy = StreamStats(stream_id="s", rows_answered=10)
    assert watch.observe(busy, 2) is None and busy.rows_per_second == 10
    assert watch.observe(StreamStats(stream_id="s", rows_answered=10, backlog=1), 4) is None  # rows waiting
    assert watch.observe(StreamStats(stream_id="s", rows_answered=10), 5) is None  # idle from here
    assert "idle" in watch.observe(StreamStats(stream_id="s", rows_answered=10), 8)
    timed = StreamWatch(StopRule(max_duration_seconds=10), started=0)
    assert timed.observe(StreamStats(stream_id="s"), 9) is None
    assert "max_duration_seconds" in timed.observe(StreamStats(stream_id="s"), 10)
    assert StreamWatch(StopRule(), started=0).observe(StreamStats(stream_id="s"), 10 ** 6) is None


def test_concurrent_requests_share_one_call_and_failures_reach_each():
    calls: list[list[int]] = []

    def run(items: list[int]) -> list[int]:
        calls.append(items)
        if 13 in items:
            raise RuntimeError("unlucky")
        return [item * 2 for item in items]

    async def main():
        batcher = MicroBatcher(run, max_items=4, max_wait=0.01)
        results = await asyncio.gather(*(batcher.submit(i) for i in range(6)), return_exceptions=True)
        failed = await asyncio.gather(batcher.submit(13), batcher.submit(1), return_exceptions=True)
        return results, failed

    results, failed = asyncio.run(main())
    assert results == [0, 2, 4, 6, 8, 10] and calls[:2] == [[0, 1, 2, 3], [4, 5]]
    assert all(isinstance(outcome, RuntimeError) for outcome in failed)


def test_the_request_is_checked_against_the_agent_before_any_row_runs():
    places = StreamPlaces(output_uri="s3://b/streams/x")
    config = build_stream_config(StreamRequest(agent="test-echo-agent"), agents.spec(), places)
    assert config.batch.columns == [MESSAGE_ID_COLUMN, "text"] and config.places.output_uri == "s3://b/streams/x/"
    assert config.batch.output_columns[:4] == [MESSAGE_ID_COLUMN, "text", "upper", "length"]
    with pytest.raises(MissingRequiredFieldError, match="text"):
        build_stream_config(StreamRequest(agent="a", columns=["body"]), agents.spec(), places)
    with pytest.raises(UnknownOutputFieldError, match="uper"):
        build_stream_config(StreamRequest(agent="a", output_fields=["uper"]), agents.spec(), places)
    with pytest.raises(ValueError, match="_message_id"):
        StreamRequest(agent="a", columns=["_message_id"])
    with pytest.raises(ValueError):
        StreamRequest(agent="a", source_queue="someone-elses-queue")  # places are not the request's


def test_the_registry_entrys_transforms_are_planned_as_a_batchs():
    places = StreamPlaces(output_uri="s3://b/streams/x")
    rules = {"output": {"derived": [{"into": "shout", "template": "{upper}!"}], "keep": ["shout", "upper"],
                        "rename": {"upper": "capitals"}}}
    agent = agents.spec().model_copy(update={"transforms": TransformRules.model_validate(rules)})
    config = build_stream_config(StreamRequest(agent="test-echo-agent"), agent, places)
    assert config.batch.output_columns[:4] == [MESSAGE_ID_COLUMN, "text", "shout", "capitals"]
    outcome = asyncio.run(RowProcessor(config.batch, build_agent_call(config.batch.agent)).process_chunk(
        [{MESSAGE_ID_COLUMN: "m1", "text": "hi"}]))
    assert outcome.rows[0][:4] == ["m1", "hi", "HI!", "HI"]  # cells under the header's names, none empty
    filtered = agents.spec().model_copy(update={"transforms": TransformRules(filter="body != ''")})
    with pytest.raises(TransformRuleError, match="body"):  # the filter is checked against the stream's columns
        build_stream_config(StreamRequest(agent="test-echo-agent"), filtered, places)
