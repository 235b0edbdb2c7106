"""The estimate of a cascade agent: cheap + rate x strong with a known escalation rate, else a range whose top
(every row escalated) is what the approval threshold is held against; the golden sample counts the escalations."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_batchorch.core.agent_call import AgentResult
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.batch_estimate import estimate_batch
from airflow_provider_batchorch.core.cascade_tally import CascadeAnswer
from airflow_provider_batchorch.core.cost_estimate import ApprovalThresholds, approval_reasons, describe_estimate
from airflow_provider_batchorch.core.golden_gate.evaluate import evaluate_golden
from airflow_provider_batchorch.core.golden_gate.sample import read_golden_sample
from airflow_provider_batchorch.core.models import BatchRequest, CsvProfile

SCHEMA = {"type": "object", "properties": {"sentiment": {"type": "string"}, "confidence_score": {"type": "number"}}}
STRONG = AgentSpec(name="strong", input_fields=[{"name": "text"}], output_schema=SCHEMA,
                   invocation={"kind": "llm", "model": "gpt-4.1"})
CHEAP = AgentSpec(name="cheap", input_fields=[{"name": "text"}], output_schema=SCHEMA,
                  invocation={"kind": "llm", "model": "gpt-4.1-nano"},
                  escalate_to="strong", escalate_when={"confidence_below": 0.6}).model_copy(
                      update={"escalation_agent": STRONG})
REQUEST = BatchRequest(csv_uri="s3://b/in.csv", agent="cheap")
PROFILE = CsvProfile(uri="s3://b/in.csv", size_bytes=1_000_000, columns=["text"], data_types={"text": "string"},
                     row_count=100_000, sample_rows=[{"text": "fine, thanks"}], header_end=5, chunk_rows=100)


def alone(spec: AgentSpec) -> float:
    return estimate_batch(REQUEST, PROFILE, spec.model_copy(update={"escalation_agent": None})).cost_usd


def test_without_a_rate_the_estimate_is_a_range_from_the_cheap_agent_to_both_on_every_row():
    estimate = estimate_batch(REQUEST, PROFILE, CHEAP)
    assert estimate.cost_usd == alone(CHEAP)
    assert estimate.cost_usd_max == pytest.approx(alone(CHEAP) + alone(STRONG), abs=1e-3)
    assert "escalation rate unknown" in estimate.basis and "every row also answered by strong" in estimate.basis
    assert f" to ${estimate.cost_usd_max:,.2f}" in describe_estimate(estimate)
    threshold = ApprovalThresholds(max_rows=10**9, max_cost_usd=(estimate.cost_usd + estimate.cost_usd_max) / 2)
    assert approval_reasons(estimate, threshold)  # held against the top of the range


def test_a_known_rate_prices_the_cheap_agent_plus_that_share_of_the_strong_one():
    estimate = estimate_batch(REQUEST, PROFILE, CHEAP, escalation_rate=0.2)
    assert estimate.cost_usd == pytest.approx(alone(CHEAP) + 0.2 * alone(STRONG), abs=1e-3)
    assert estimate.cost_usd_max is None and "plus 20% of rows escalated to strong" in estimate.basis


def test_the_golden_sample_counts_the_rows_the_cascade_escalated():
    async def call(inputs):
        unsure = inputs["text"] == "meh"
        return AgentResult({"sentiment": "neutral", "confidence_score": 0.9},
                           cascade=CascadeAnswer("strong" if unsure else "cheap", "1", escalated=unsure))

    sample = read_golden_sample("text,sentiment\nfine,neutral\nmeh,neutral\nok,neutral\nso so,neutral\n", CHEAP)
    report = asyncio.run(evaluate_golden(CHEAP, call, sample))
    assert (report.rows_escalated, report.escalation_rate) == (1, 0.25)
