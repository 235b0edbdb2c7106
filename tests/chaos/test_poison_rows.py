"""One poison row costs one row, not the batch: an agent that exits, crashes or hangs on 1 of 200 rows.

Real embedded batch (moto server, Step Functions interpreter, two worker processes). The ``python`` test agents
run in the workers' supervised child process pool (their default isolation); the poison row must fail with its
code, the 199 others succeed, nothing duplicated or lost, rows in order, and the batch must end within
3 x the row timeout of a clean batch's time.
"""

from __future__ import annotations

import time

import pytest

from airflow_provider_batchorch.aws.pipeline import wait_for_execution
from airflow_provider_batchorch.aws.results import assemble_results
from tests.chaos.helpers import assert_exactly_once, audit, put_csv, read_output, start_batch, workers
from tests.support import poison_agents

ROWS = 200
POISON_ROW = 123
ROW_TIMEOUT = 3
pytestmark = pytest.mark.timeout(180)

CASES = [
    ("sys-exit", "poison"),
    ("os-exit", "poison"),
    ("keyboard-interrupt", "poison"),
    ("segfault", "poison"),
    ("sleep-forever", "poison"),
    ("blocked-loop", "poison_async"),
]


def _run_batch(aws, texts: list[str], callable_name: str):
    s3, sfn, ddb = aws.client("s3"), aws.client("stepfunctions"), aws.client("dynamodb")
    csv_uri = put_csv(s3, aws.bucket, texts)
    with workers(aws, 2) as started:
        aws.wait_for_workers(started)
        began = time.monotonic()
        config, arn = start_batch(aws, s3, csv_uri, poison_agents.spec(callable_name), chunk_rows=20, concurrency=10,
                                  timeout_seconds=ROW_TIMEOUT)
        wait_for_execution(sfn, ddb, aws.refs, arn, config, poll_seconds=0.2, timeout_seconds=120)
        summary = assemble_results(s3, sfn, config, arn)
        elapsed = time.monotonic() - began
        alive = [process.poll() is None for process in started]
    return summary, read_output(s3, summary.output_csv_uri), elapsed, alive


@pytest.fixture(scope="module")
def clean_seconds(chaos_aws):
    """How long the same batch takes with no poison row: the yardstick of the time bound."""
    summary, rows, elapsed, _ = _run_batch(chaos_aws, [f"row {i}" for i in range(ROWS)], "poison")
    assert summary.rows_succeeded == ROWS
    return elapsed


@pytest.mark.parametrize("kind,callable_name", CASES, ids=[kind for kind, _ in CASES])
def test_poison_row_fails_alone(chaos_aws, report, clean_seconds, kind, callable_name):
    texts = [f"row {i}" + (f" {kind}" if i == POISON_ROW else "") for i in range(ROWS)]
    summary, rows, elapsed, alive = _run_batch(chaos_aws, texts, callable_name)
    result = audit(texts, rows)
    poisoned = rows[POISON_ROW]
    report(f"poison row: agent {kind} on 1 of {ROWS} rows", result,
           notes=f"{poisoned['_error_code']} ({poisoned['_error_message'][:70]}); {summary.rows_succeeded} rows "
                 f"succeeded; {elapsed:.1f} s (clean batch {clean_seconds:.1f} s, row timeout {ROW_TIMEOUT} s)")
    assert_exactly_once(result)
    assert all(alive), "a worker died"
    assert poisoned["_status"] == "FAILED" and poisoned["_error_code"] == poison_agents.KINDS[kind], poisoned
    assert poisoned["_error_message"]
    failed = [(row["id"], row["_error_code"], row["_error_message"]) for row in rows if row["_status"] != "SUCCEEDED"]
    assert summary.rows_succeeded == ROWS - 1 and summary.rows_failed == 1, failed
    assert all(row["_status"] == "SUCCEEDED" and row["upper"] == row["text"].upper()
               for i, row in enumerate(rows) if i != POISON_ROW)
    assert elapsed <= clean_seconds + 3 * ROW_TIMEOUT, (elapsed, clean_seconds)
