"""Cost before and after: the estimate per execution mode, the actual cost of the tokens spent, the rows-per-minute
series, the job record's figures and the dashboard charts' SVG (plain Python: no AWS, no server)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_batchorch.builtin_agents import builtin_registry
from airflow_provider_batchorch.core.actual_cost import agent_cost
from airflow_provider_batchorch.core.configure import build_batch_config
from airflow_provider_batchorch.core.cost_estimate import (
    describe_estimate,
    estimate_cost,
    format_usd,
    price_table,
    token_cost,
)
from airflow_provider_batchorch.core.llm_settings import with_llm
from airflow_provider_batchorch.core.metrics import cost_per_agent, failure_reasons, finished_job_record, started_job_record
from airflow_provider_batchorch.core.models import BatchRequest, ChunkSummary, CsvProfile
from airflow_provider_batchorch.core.summary import summarize_batch, summary_text
from airflow_provider_batchorch.core.throughput import finish_histogram, rows_per_minute
from airflow_provider_batchorch.plugins.dashboard_charts import Bar, Series, bar_chart, line_chart

TICKETS = builtin_registry().get("ticket-classifier-agent")
T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=timezone.utc)


def test_the_estimate_is_priced_realtime_and_at_the_providers_batch_discount():
    estimate = estimate_cost(with_llm(TICKETS, "openai:gpt-4o-mini"), rows=10_000, execution_mode="batch_api")
    realtime, batch = estimate.cost_usd_by_mode["realtime"], estimate.cost_usd_by_mode["batch_api"]
    per_row = (estimate.input_tokens_per_row * 0.15 + estimate.output_tokens_per_row * 0.60) / 1e6
    assert realtime == pytest.approx(per_row * 10_000, abs=1e-4)
    assert batch == pytest.approx(realtime / 2, abs=1e-4) and estimate.cost_usd == batch
    assert f"estimated cost ${batch:.2f} in batch_api mode, ${realtime:.2f} in realtime (~" in describe_estimate(estimate)
    bedrock = estimate_cost(with_llm(TICKETS, "bedrock:us.anthropic.claude-3-5-haiku-20241022-v1:0"), rows=100)
    assert bedrock.cost_usd_by_mode["batch_api"] == pytest.approx(bedrock.cost_usd / 2, abs=1e-4)


def test_a_model_whose_provider_has_no_known_batch_api_has_no_batch_price_unless_the_table_gives_one():
    own = with_llm(TICKETS, "my-own-model", base_url="http://127.0.0.1:9")
    prices = price_table({"BATCHORCH_MODEL_PRICES": '{"my-own-model": [1, 2]}'})
    estimate = estimate_cost(own, rows=100, prices=prices)
    assert estimate.cost_usd > 0 and estimate.cost_usd_by_mode["batch_api"] is None
    discounted = price_table({"BATCHORCH_MODEL_PRICES": '{"my-own-model": [1, 2, 0.25]}'})
    assert estimate_cost(own, rows=100, prices=discounted).cost_usd_by_mode["batch_api"] == pytest.approx(
        estimate.cost_usd * 0.75, abs=1e-4)
    offline = estimate_cost(TICKETS, rows=100)
    assert offline.cost_usd_by_mode == {"realtime": 0.0, "batch_api": 0.0}


def test_token_cost_prices_the_tokens_spent():
    assert token_cost("openai:gpt-4.1-mini", 1_000_000, 500_000) == pytest.approx(0.40 + 0.80)
    assert token_cost("openai:gpt-4.1-mini", 1_000_000, 500_000, mode="batch_api") == pytest.approx(0.60)
    assert token_cost("my-own-model", 10, 10) is None and token_cost(None, 10, 10) is None


def _profile(rows: int) -> CsvProfile:
    return CsvProfile(uri="s3://b/tickets.csv", size_bytes=1000, columns=["ticket_id", "subject", "body"],
                      data_types={}, row_count=rows, header_end=30, chunk_rows=2,
                      sample_rows=[{"ticket_id": "T1", "subject": "Cannot log in", "body": "It says no such user."}])


def _chunk(index: int, rows: int, failed: int, tokens: tuple[int, int], finished: list[tuple[int, int]],
           reasons: dict[str, int] | None = None) -> ChunkSummary:
    return ChunkSummary(chunk=index, rows=rows, succeeded=rows - failed, failed=failed, part_uri=f"s3://b/p{index}",
                        started_at=T0, finished_at=T0 + timedelta(seconds=30), agent_calls=rows,
                        input_tokens=tokens[0], output_tokens=tokens[1], rows_finished=finished,
                        failure_reasons=reasons or {})


def test_the_summary_sets_the_actual_cost_of_the_tokens_against_the_estimate():
    agent = with_llm(TICKETS, "openai:gpt-4o-mini")
    request = BatchRequest(csv_uri="s3://b/tickets.csv", agent=agent.name)
    config = build_batch_config(request, _profile(4), agent, batch_id="b1", prefix_uri="s3://b/runs/b1/")
    assert config.cost_estimate.rows == 4 and config.cost_estimate.cost_usd > 0  # estimated when configured
    start = int(T0.timestamp())
    chunks = [_chunk(0, 2, 0, (2000, 400), [(start + 3, 2)]),
              _chunk(1, 2, 1, (2200, 300), [(start + 5, 1), (start + 7, 1)], {"Invalid JSON": 1})]
    summary = summarize_batch(config, chunks, execution_arn=None, processing_seconds=9)
    assert (summary.input_tokens, summary.output_tokens) == (4200, 700)
    assert (summary.input_tokens_per_row, summary.output_tokens_per_row) == (1050.0, 175.0)
    assert summary.actual_cost_usd == pytest.approx((4200 * 0.15 + 700 * 0.60) / 1e6)
    assert summary.estimated_cost_usd == config.cost_estimate.cost_usd
    share = summary.cost_by_agent[agent.name]
    assert (share.model, share.rows, share.cost_usd) == ("openai:gpt-4o-mini", 4, summary.actual_cost_usd)
    assert [(p.at_seconds, p.rows) for p in summary.throughput if p.rows] == [(3, 2), (5, 1), (7, 1)]
    text = summary_text(summary)
    assert "- Tokens: 4200 in, 700 out (1050 in, 175 out per row)" in text
    assert f"- Cost: estimated {format_usd(config.cost_estimate.cost_usd)}, actual $0.001" in text

    record = finished_job_record(started_job_record(config, started_at=T0), summary, finished_at=T0)
    assert record.estimated_cost_usd == config.cost_estimate.cost_usd
    assert record.actual_cost_usd == summary.actual_cost_usd and record.input_tokens_per_row == 1050.0
    assert record.cost_by_agent == summary.cost_by_agent and record.throughput == summary.throughput
    totals = cost_per_agent([record, started_job_record(config, started_at=T0)])
    assert [(t.agent, t.jobs, t.actual_cost_usd) for t in totals] == [(agent.name, 2, summary.actual_cost_usd)]
    assert totals[0].estimated_cost_usd == pytest.approx(2 * config.cost_estimate.cost_usd)
    assert failure_reasons([record, record]) == {"Invalid JSON": 2}


def test_an_agent_not_priced_by_token_has_an_unknown_cost_never_zero():
    lambda_agent = type(TICKETS).model_validate({**TICKETS.model_dump(), "invocation": {"kind": "lambda",
                                                                                       "function_name": "f"}})
    assert agent_cost(lambda_agent, None, rows=3, agent_calls=3, input_tokens=0, output_tokens=0).cost_usd is None
    assert agent_cost(TICKETS, None, rows=3, agent_calls=3, input_tokens=0, output_tokens=0).cost_usd == 0.0


def test_rows_per_minute_follows_the_seconds_the_rows_finished_in():
    start = int(T0.timestamp())
    assert finish_histogram([start + 0.2, start + 0.9, start + 2.5]) == [(start, 2), (start + 2, 1)]
    series = rows_per_minute([(T0, T0 + timedelta(seconds=3), 3, [(start, 2), (start + 2, 1)]),
                              (T0, T0 + timedelta(seconds=2), 5, [])])  # no histogram: all at finished_at
    assert [(p.at_seconds, p.rows, p.rows_per_minute) for p in series] == [
        (0, 2, 120.0), (1, 0, 0.0), (2, 6, 360.0)]
    long_run = rows_per_minute([(T0, T0, 1, [(start + second, 1)]) for second in range(0, 3600, 7)])
    assert len(long_run) <= 60 and sum(p.rows for p in long_run) == len(range(0, 3600, 7))
    assert rows_per_minute([]) == []


def test_charts_are_svg_with_every_label_escaped():
    hostile = '<script>alert(1)</script> & "quoted"'
    failures = bar_chart([Bar(label=hostile, values=[7])], title="Failure reasons", chart_id="f",
                         value_text=lambda v: f"{v:.0f} rows")
    assert "<script>" not in failures and "&lt;script&gt;" in failures and "7 rows" in failures
    assert failures.startswith("<svg") and 'class="bar"' in failures
    cost = bar_chart([Bar(label="a", values=[0.5, None])], title="Cost", chart_id="c", value_text=str,
                     series_names=("estimated", "actual"))
    assert cost.count('class="bar"') == 2 and "estimated" in cost and "–" in cost  # unknown: a dash, no bar
    lines = line_chart([Series(name=hostile, points=[(0, 1), (60, 30)])], title="Rows", chart_id="t",
                       x_text=str, y_text=str)
    assert lines.count("<polyline") == 1 and "<script>" not in lines
    assert "No data yet" in line_chart([], title="Rows", chart_id="t", x_text=str, y_text=str)


def test_a_cost_mode_batch_prices_the_job_at_the_batch_price_and_the_stragglers_at_the_list_price():
    from airflow_provider_batchorch.core.batch_api.models import BatchApiOutcome
    from airflow_provider_batchorch.core.batch_api.parts import add_execution_parts

    agent = with_llm(TICKETS, "openai:gpt-4o-mini")
    request = BatchRequest(csv_uri="s3://b/tickets.csv", agent=agent.name, execution_mode="batch_api")
    config = build_batch_config(request, _profile(4), agent, batch_id="b1", prefix_uri="s3://b/runs/b1/")
    config = config.model_copy(update={"execution_mode": "batch_api"})  # as a batch of enough rows resolves
    assert config.cost_estimate.execution_mode == "batch_api"
    assert config.cost_estimate.cost_usd == config.cost_estimate.cost_usd_by_mode["batch_api"]
    start = int(T0.timestamp())
    chunks = [_chunk(0, 2, 0, (0, 0), [(start, 2)]).model_copy(update={"rows_batch_api": 2, "agent_calls": 0}),
              _chunk(1, 2, 0, (1000, 100), [(start + 1, 2)]).model_copy(update={"rows_batch_api": 1, "agent_calls": 1})]
    summary = summarize_batch(config, chunks, execution_arn=None, processing_seconds=9)
    add_execution_parts(summary, config, chunks, BatchApiOutcome(status="completed", input_tokens=3000,
                                                                 output_tokens=300))
    job = (3000 * 0.15 + 300 * 0.60) / 1e6 / 2  # half price
    stragglers = (1000 * 0.15 + 100 * 0.60) / 1e6
    assert summary.actual_cost_usd == pytest.approx(job + stragglers)
    share = summary.cost_by_agent[agent.name]
    assert (share.input_tokens, share.output_tokens, share.cost_usd) == (4000, 400, summary.actual_cost_usd)
