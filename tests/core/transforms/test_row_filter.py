"""The row filter: rows it leaves out come back as read, in their place, SKIPPED, without an agent call; the
chunk counts them; a bad expression is refused before any row runs, one that fails on a row fails that row."""

from __future__ import annotations

import pytest

from airflow_provider_batchorch.core.errors import TransformRuleError
from airflow_provider_batchorch.core.models import ChunkSummary
from airflow_provider_batchorch.core.summary import summarize_batch, summary_text
from tests.core.transforms.conftest import configure, run_rows

ROWS = [{"text": "a", "country": "DE", "revenue": "1200"}, {"text": "{{ 7*7 }}", "country": "FR", "revenue": ""},
        {"text": "ü", "country": " de ", "revenue": "5"}, {"text": "d", "country": "", "revenue": "n/a"}]
COLUMNS = ["text", "country", "revenue"]


def test_skipped_rows_come_back_as_read_in_order_and_are_counted():
    config = configure(COLUMNS, {"filter": "country | trim | lower == 'de'"})
    outcome, records = run_rows(config, ROWS)
    assert [r["_status"] for r in records] == ["SUCCEEDED", "SKIPPED", "SUCCEEDED", "SKIPPED"]
    assert [{c: r[c] for c in COLUMNS} for r in records] == ROWS  # rows in == rows out, in order, untouched
    assert (records[1]["upper"], records[1]["_error_message"], records[1]["_agent"]) == ("", "", "")
    assert (outcome.succeeded, outcome.failed, outcome.skipped, outcome.agent_calls) == (2, 0, 2, 2)


def test_the_summary_counts_skipped_rows_apart():
    config = configure(COLUMNS, {"filter": "country == 'DE'"})
    chunk = ChunkSummary(chunk=0, rows=4, succeeded=1, failed=0, skipped=3, part_uri="s3://b/p",
                         started_at="2026-01-01T00:00:00Z", finished_at="2026-01-01T00:00:01Z")
    summary = summarize_batch(config, [chunk], execution_arn=None, processing_seconds=1)
    assert (summary.rows_processed, summary.rows_skipped, summary.success_rate, summary.status) == (1, 3, 100.0, "SUCCEEDED")
    assert "3 skipped by the row filter" in summary.message
    assert "- Skipped by the row filter: 3 rows" in summary_text(summary)


def test_an_expression_that_fails_on_a_row_fails_that_row():
    config = configure(COLUMNS, {"filter": "revenue | float(-1) > 1000 and 'x' * ((revenue | int) * 100)"})
    outcome, records = run_rows(config, ROWS[:2])
    assert records[0]["_status"] == "FAILED" and records[0]["_error_code"] == "TRANSFORM_FAILED"
    assert "Row filter failed" in records[0]["_error_message"]
    assert records[1]["_status"] == "SKIPPED"


@pytest.mark.parametrize(("expression", "named"), [
    ("countyr == 'DE'", "'countyr'"),
    ("country ==", "TemplateSyntaxError"),
    ("country | nosuch", "nosuch"),
    ("__import__('os')", "'__import__'"),
])
def test_a_bad_filter_is_refused_in_one_line_naming_it(expression, named):
    with pytest.raises(TransformRuleError) as caught:
        configure(COLUMNS, {"filter": expression})
    line = str(caught.value)
    assert line.startswith("INVALID_TRANSFORM: ") and "transforms.filter" in line and named in line and "\n" not in line


def test_the_sandbox_gives_no_way_out():
    config = configure(COLUMNS, {"filter": "text.__class__ is defined or country.__globals__ is defined"})
    assert run_rows(config, ROWS[:1])[1][0]["_status"] == "SKIPPED"  # unsafe attributes are undefined
    config = configure(COLUMNS, {"filter": "text.__class__.__mro__"})
    record = run_rows(config, ROWS[:1])[1][0]
    assert record["_status"] == "FAILED" and "<class" not in record["_error_message"]
