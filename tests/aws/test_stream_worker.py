"""The stream worker on the emulator, in this process: every row answered once on the destination queue and in
the S3 parts, with the batch's row rules; a part whose writer died is rebuilt from the ledger. (1,000 rows at a
fixed rate with a worker killed: tests/e2e/test_stream_worker_death.py.)"""

from __future__ import annotations

import time

import pytest

from airflow_provider_batchorch.aws.stream_ledger import StreamLedger
from airflow_provider_batchorch.core.stream.config import MESSAGE_ID_COLUMN
from tests.support import agents
from tests.support.streams import Destination, in_process, new_stream, part_ids, part_rows, row_message, send_at_rate, worker_thread

pytestmark = pytest.mark.timeout(120)


def test_each_row_is_answered_once_with_the_batch_row_rules(embedded_aws):
    aws = embedded_aws
    config, queues = new_stream(aws, in_process(agents.spec("misbehaving")), part_rows=4, part_seconds=0.5,
                                timeout_seconds=5)
    bodies = [row_message(f"r{i}", {"text": f"row {i}"}) for i in range(10)]
    bodies += [row_message("boom", {"text": "please raise"}),      # the agent raises: FAILED, _error_message
               row_message("bad-schema", {"text": "violate"}),     # output against the schema: FAILED
               row_message("empty", {}),                            # a required input missing: FAILED
               row_message("extra", {"text": "x", "other": 1}),     # other keys are ignored
               row_message("r3", {"text": "row 3 again"}),          # an id sent twice is answered once
               "this is not json",
               '{"id": "no-row"}']
    send_at_rate(aws.client("sqs"), queues.source_url, bodies, per_second=200)
    destination = Destination(aws.client("sqs"), queues.destination_url)
    with worker_thread(aws, config, queues):
        ids = destination.drain(until_ids=16, timeout=30)
        time.sleep(config.part_seconds + 1)  # the last part is due
    assert set(ids.values()) == {1} and len(ids) == 16, ids
    by_id = {result.id: result for result in destination.results}
    assert by_id["r1"].status == "SUCCEEDED" and by_id["r1"].result["upper"] == "ROW 1"
    assert by_id["boom"].result["_error_message"] == "Agent raised RuntimeError: boom"
    assert by_id["bad-schema"].status == "FAILED" and by_id["bad-schema"].result["_error_message"]
    assert by_id["empty"].result["_error_message"] == "Missing required input: text"
    assert by_id["extra"].status == "SUCCEEDED"
    assert by_id["no-row"].result["_error_code"] == "INVALID_STREAM_MESSAGE"
    invalid = [r for r in destination.results if r.id not in {b.split('"')[3] for b in bodies if b.startswith("{")}]
    assert len(invalid) == 1 and "not JSON" in invalid[0].result["_error_message"]
    rows = part_rows(aws.client("s3"), config)
    assert sorted(row[MESSAGE_ID_COLUMN] for row in rows) == sorted(ids)
    assert {row[MESSAGE_ID_COLUMN]: row["upper"] for row in rows}["r3"] == by_id["r3"].result["upper"]


def test_a_part_claimed_but_never_written_is_written_from_the_ledger(embedded_aws):
    """A worker that died after claiming its part's rows and before putting the part: a redelivery of any of
    them writes the part, and no row is answered twice."""
    aws = embedded_aws
    config, queues = new_stream(aws, in_process(agents.spec("echo")), part_rows=10, part_seconds=0.5)
    ledger = StreamLedger(aws.client("dynamodb"), config.places.ledger_table, config.stream_id)
    dead_part = config.parts_prefix + "part-0000000000001-dead-000001.csv"
    kept = [["a", "alpha", "ALPHA", "5", "SUCCEEDED", "", "", "test-echo-agent", "1.0.0", "1", "2026-01-01T00:00:00Z"]]
    ledger.record_sent([("a", kept[0])])
    ledger.write_manifest(dead_part, ["a"])
    assert ledger.claim(["a"], dead_part) == {"a"} and ledger.claim(["a"], dead_part + "x") == set()
    sqs = aws.client("sqs")
    sqs.send_message(QueueUrl=queues.source_url, MessageBody=row_message("a", {"text": "alpha"}))
    sqs.send_message(QueueUrl=queues.source_url, MessageBody=row_message("b", {"text": "beta"}))
    destination = Destination(sqs, queues.destination_url)
    with worker_thread(aws, config, queues) as worker:
        destination.drain(until_ids=1, timeout=20)
        time.sleep(2)
    assert destination.ids() == {"b": 1}  # "a" was sent before its worker died
    assert part_ids(aws.client("s3"), config) == {"a": 1, "b": 1}
    assert worker.stats.redeliveries_skipped == 1
