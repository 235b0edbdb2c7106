"""Cascade: the cheap agent answers every row, the rows its answer leaves in doubt go to the strong one; the
output says which agent answered each row and the summary counts escalations, calls and cost saved."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timezone

import pytest

from airflow_provider_batchorch.core.agent_call import AgentResult
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.cascade_call import compose_agent_call
from airflow_provider_batchorch.core.cost_estimate import DEFAULT_PRICES
from airflow_provider_batchorch.core.errors import AgentRowError
from airflow_provider_batchorch.core.models import METADATA_COLUMNS, ROW_FAILED, BatchConfig, ChunkSummary
from airflow_provider_batchorch.core.row_processing import RowProcessor
from airflow_provider_batchorch.core.summary import summarize_batch, summary_text

SCHEMA = {"type": "object", "properties": {"label": {"type": "string"}, "confidence_score": {"type": "number"}},
          "required": ["label", "confidence_score"]}
CHEAP_TOKENS, STRONG_TOKENS = (100, 10), (300, 40)


def _specs(rule: dict, *, strong_schema: dict = SCHEMA) -> AgentSpec:
    strong = AgentSpec(name="strong-agent", input_fields=[{"name": "id"}], output_schema=strong_schema,
                       invocation={"kind": "llm", "model": "gpt-4.1", "base_url": "http://127.0.0.1:9/v1"})
    return AgentSpec(name="cheap-agent", version="3", input_fields=[{"name": "id"}], output_schema=SCHEMA,
                     invocation={"kind": "llm", "model": "gpt-4.1-nano", "base_url": "http://127.0.0.1:9/v1"},
                     escalate_to="strong-agent", escalate_when=rule, escalation_agent=strong)


def _config(spec: AgentSpec, rows: int) -> BatchConfig:
    return BatchConfig(
        batch_id=f"test-{uuid.uuid4().hex[:8]}", csv_uri="s3://b/in.csv", encoding="utf-8", delimiter=",",
        columns=["id"], agent=spec, input_mapping={"id": "id"}, output_fields=["label", "confidence_score"],
        concurrency=4, chunk_concurrency=1, row_concurrency=4, timeout_seconds=5, total_rows=rows, chunk_count=1,
        prefix_uri="s3://b/runs/test/", output_uri="s3://b/runs/test/output/out.csv")


def _agents(cheap_answer):
    calls = {"cheap-agent": [], "strong-agent": []}

    def build(spec: AgentSpec):
        async def call(inputs):
            calls[spec.name].append(inputs["id"])
            if spec.name == "cheap-agent":
                return AgentResult(cheap_answer(int(inputs["id"])), *CHEAP_TOKENS)
            return AgentResult({"label": "strong", "confidence_score": 0.99}, *STRONG_TOKENS)
        return call

    return build, calls


def _run(spec: AgentSpec, cheap_answer, rows: int = 20):
    build, calls = _agents(cheap_answer)
    config = _config(spec, rows)
    processor = RowProcessor(config, compose_agent_call(spec, build))
    outcome = asyncio.run(processor.process_chunk([{"id": str(i)} for i in range(1, rows + 1)]))
    return config, outcome, calls


def _column(config: BatchConfig, outcome, name: str) -> list[str]:
    index = config.output_columns.index(name)
    return [row[index] for row in outcome.rows]


def _unsure_every_fifth(row_id: int) -> dict:
    return {"label": "cheap", "confidence_score": 0.3 if row_id % 5 == 0 else 0.9}


def test_exactly_the_unsure_rows_escalate_and_the_summary_adds_up():
    spec = _specs({"confidence_below": 0.6})
    config, outcome, calls = _run(spec, _unsure_every_fifth)

    unsure = ["5", "10", "15", "20"]
    assert sorted(calls["strong-agent"], key=int) == unsure and len(calls["cheap-agent"]) == 20
    agents = _column(config, outcome, "_agent")
    assert [row_id for row_id, agent in zip(range(1, 21), agents) if agent == "strong-agent"] == [5, 10, 15, 20]
    assert agents.count("cheap-agent") == 16 and set(_column(config, outcome, "_agent_version")) == {"1", "3"}
    assert _column(config, outcome, "label") == ["strong" if i % 5 == 0 else "cheap" for i in range(1, 21)]

    now = datetime.now(timezone.utc)
    chunk = ChunkSummary(chunk=0, rows=20, succeeded=outcome.succeeded, failed=outcome.failed, part_uri="s3://b/p",
                         started_at=now, finished_at=now, agent_calls=outcome.agent_calls,
                         input_tokens=outcome.input_tokens, output_tokens=outcome.output_tokens,
                         cascade=outcome.cascade)
    summary = summarize_batch(config, [ChunkSummary.model_validate(chunk.model_dump(mode="json"))],
                              execution_arn=None, processing_seconds=1.0)
    cascade = summary.cascade
    assert (cascade.rows, cascade.rows_escalated, cascade.strong_calls_saved) == (20, 4, 16)
    assert cascade.escalation_reasons == {"confidence_score below 0.6": 4}
    assert (cascade.agent_calls, cascade.strong_only_calls, summary.agent_calls) == (24, 20, 24)
    nano, full = DEFAULT_PRICES["gpt-4.1-nano"], DEFAULT_PRICES["gpt-4.1"]

    def usd(price, tokens, rows):
        return rows * (tokens[0] * price.input_per_million + tokens[1] * price.output_per_million) / 1e6

    actual = usd(nano, CHEAP_TOKENS, 20) + usd(full, STRONG_TOKENS, 4)
    baseline = usd(full, STRONG_TOKENS, 4) + usd(full, CHEAP_TOKENS, 16)  # kept rows: cheap tokens, strong price
    assert cascade.cost_usd == pytest.approx(actual) and cascade.strong_only_cost_usd == pytest.approx(baseline)
    assert cascade.cost_saved_usd == pytest.approx(baseline - actual) and cascade.cost_saved_usd > 0
    assert "4 of 20 rows escalated from cheap-agent to strong-agent" in summary_text(summary)


def test_a_schema_failure_escalates_only_when_the_rule_says_so():
    def broken_on_three(row_id: int) -> dict:
        return {"label": "cheap"} if row_id == 3 else {"label": "cheap", "confidence_score": 0.9}

    config, outcome, calls = _run(_specs({"on_schema_failure": True}), broken_on_three, rows=4)
    assert calls["strong-agent"] == ["3"] and _column(config, outcome, "_agent")[2] == "strong-agent"
    assert outcome.failed == 0 and outcome.cascade.escalation_reasons == {"schema failure": 1}

    config, outcome, calls = _run(_specs({"confidence_below": 0.5}), broken_on_three, rows=4)
    assert calls["strong-agent"] == [] and outcome.failed == 1
    assert _column(config, outcome, "_status")[2] == ROW_FAILED
    assert _column(config, outcome, "_error_code")[2] == "SCHEMA_VIOLATION"
    assert _column(config, outcome, "_agent")[2] == "cheap-agent"


def test_a_field_value_rule_escalates_the_rows_with_that_value():
    def unknown_on_even(row_id: int) -> dict:
        return {"label": "Unknown" if row_id % 2 == 0 else "cheap", "confidence_score": 0.9}

    config, outcome, calls = _run(_specs({"field_values": {"label": ["Unknown"]}}), unknown_on_even, rows=6)
    assert sorted(calls["strong-agent"]) == ["2", "4", "6"]
    assert outcome.cascade.escalation_reasons == {"label = 'Unknown'": 3}


def test_a_failing_strong_agent_fails_the_row_as_the_strong_agents_and_counts_both_agents_tokens():
    spec = _specs({"confidence_below": 0.6})

    def build(agent: AgentSpec):
        async def call(inputs):
            if agent.name == "strong-agent":
                error = AgentRowError("Strong model refused")
                error.input_tokens, error.output_tokens = 7, 1
                raise error
            return AgentResult({"label": "cheap", "confidence_score": 0.1}, *CHEAP_TOKENS)
        return call

    config = _config(spec, 1)
    outcome = asyncio.run(RowProcessor(config, compose_agent_call(spec, build)).process_chunk([{"id": "1"}]))
    assert _column(config, outcome, "_agent") == ["strong-agent"] and outcome.failed == 1
    assert (outcome.input_tokens, outcome.output_tokens) == (107, 11)
    assert outcome.cascade.rows_escalated == 1 and outcome.cascade.strong_input_tokens == 7


def test_an_agent_without_cascade_writes_its_own_name_and_dumps_as_before():
    spec = AgentSpec(name="plain-agent", input_fields=[{"name": "id"}], output_schema=SCHEMA,
                     invocation={"kind": "python", "callable": "json:dumps", "isolation": "none"})
    assert not {"escalate_to", "escalate_when", "escalation_agent"} & set(spec.model_dump())
    build, calls = _agents(_unsure_every_fifth)
    config = _config(spec, 5)
    outcome = asyncio.run(RowProcessor(config, compose_agent_call(spec, build)).process_chunk(
        [{"id": str(i)} for i in range(1, 6)]))
    assert set(_column(config, outcome, "_agent")) == {"plain-agent"} and outcome.cascade.rows == 0
    assert METADATA_COLUMNS[3] == "_agent"
