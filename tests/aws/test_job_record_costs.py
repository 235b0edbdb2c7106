"""The cost figures of a real batch (emulator, worker processes, an LLM stand-in server that reports its usage
tokens): estimated before, actual after in the summary, per agent, tokens per row, rows per minute, and all of it
in the job record the dashboard reads (the record's JSON and its own DynamoDB attributes)."""

from __future__ import annotations

import pytest

from airflow_provider_batchorch.aws.job_records import get_job_record, jobs_table_name
from tests.support.dashboard_fixtures import PRICED_ROWS, PRICED_USAGE

PER_ROW_USD = (PRICED_USAGE[0] * 0.15 + PRICED_USAGE[1] * 0.60) / 1e6  # gpt-4o-mini list price per million


def test_the_summary_counts_the_tokens_of_every_row_and_prices_them(recorded_jobs):
    config, summary, _ = recorded_jobs["priced"]
    assert summary.rows_processed == PRICED_ROWS and summary.rows_failed == 0
    calls = summary.agent_calls  # the tickets repeated in the CSV are answered once (calls_saved)
    assert calls == PRICED_ROWS - summary.calls_saved and calls > PRICED_ROWS / 2
    assert (summary.input_tokens, summary.output_tokens) == (calls * PRICED_USAGE[0], calls * PRICED_USAGE[1])
    assert (summary.input_tokens_per_row, summary.output_tokens_per_row) == (
        round(calls * PRICED_USAGE[0] / PRICED_ROWS, 1), round(calls * PRICED_USAGE[1] / PRICED_ROWS, 1))
    assert summary.actual_cost_usd == pytest.approx(calls * PER_ROW_USD)
    estimate = config.cost_estimate  # made before the batch, from the CSV's sample rows and the agent's schema
    assert estimate.model == "gpt-4o-mini" and estimate.rows == PRICED_ROWS and estimate.cost_usd > 0
    assert estimate.cost_usd_by_mode["batch_api"] == pytest.approx(estimate.cost_usd / 2, abs=1e-4)
    assert summary.estimated_cost_usd == estimate.cost_usd
    share = summary.cost_by_agent["ticket-classifier-agent"]
    assert (share.model, share.rows, share.agent_calls, share.cost_usd) == (
        "gpt-4o-mini", PRICED_ROWS, calls, summary.actual_cost_usd)
    assert sum(point.rows for point in summary.throughput) == PRICED_ROWS  # every row finished at a recorded second


def test_the_job_record_keeps_the_estimate_the_actual_cost_and_the_series(dashboard_aws, recorded_jobs):
    _, summary, _ = recorded_jobs["priced"]
    ddb = dashboard_aws.client("dynamodb")
    record = get_job_record(ddb, summary.batch_id)
    assert (record.estimated_cost_usd, record.actual_cost_usd) == (summary.estimated_cost_usd, summary.actual_cost_usd)
    assert (record.input_tokens, record.output_tokens) == (summary.input_tokens, summary.output_tokens)
    assert (record.input_tokens_per_row, record.output_tokens_per_row) == (
        summary.input_tokens_per_row, summary.output_tokens_per_row)
    assert record.cost_by_agent == summary.cost_by_agent and record.throughput == summary.throughput
    item = ddb.get_item(TableName=jobs_table_name(), Key={"batch_id": {"S": summary.batch_id}})["Item"]
    assert float(item["actual_cost_usd"]["N"]) == pytest.approx(summary.actual_cost_usd)
    assert float(item["estimated_cost_usd"]["N"]) == pytest.approx(summary.estimated_cost_usd)
    offline = get_job_record(ddb, recorded_jobs["tickets"][1].batch_id)
    assert offline.actual_cost_usd == 0.0 and offline.input_tokens == 0  # a built-in agent costs nothing
