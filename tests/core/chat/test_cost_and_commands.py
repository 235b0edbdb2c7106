"""Cost estimate, approval thresholds, and what a chat message asks for."""

from __future__ import annotations

import pytest

from airflow_provider_batchorch.core.chat.commands import parse_chat_command
from airflow_provider_batchorch.core.cost_estimate import (
    ApprovalThresholds,
    approval_reasons,
    estimate_cost,
    find_price,
    price_table,
)
from airflow_provider_batchorch.core.llm_settings import with_llm
from airflow_provider_batchorch.builtin_agents import builtin_registry

SAMPLE = [
    {"company_name": "Acme Robotics", "website": "https://acme-robotics.example", "location": "Austin, TX"},
    {"company_name": "Globex Bank", "website": "https://globex.example", "location": "London"},
]
COMPANY = builtin_registry().get("company-enrichment-agent")


def test_offline_agent_costs_nothing_and_needs_approval_only_for_many_rows():
    estimate = estimate_cost(COMPANY, rows=500, sample_rows=SAMPLE)
    assert estimate.cost_usd == 0.0 and estimate.model is None
    assert approval_reasons(estimate, ApprovalThresholds(max_rows=1000)) == []
    assert approval_reasons(estimate_cost(COMPANY, rows=5000), ApprovalThresholds(max_rows=1000)) == [
        "5,000 rows is more than 1,000"]


def test_llm_cost_is_tokens_per_row_times_rows_times_the_model_price():
    agent = with_llm(COMPANY, "openai:gpt-4.1-mini")
    estimate = estimate_cost(agent, rows=10_000, sample_rows=SAMPLE,
                             input_mapping={"company_name": "company_name", "website": "website"})
    assert 300 < estimate.input_tokens_per_row < 2000 and 50 < estimate.output_tokens_per_row < 600
    per_row = (estimate.input_tokens_per_row * 0.40 + estimate.output_tokens_per_row * 1.60) / 1e6
    assert estimate.cost_usd == pytest.approx(per_row * 10_000, rel=1e-3)
    assert "gpt-4.1-mini" in estimate.basis
    cheap = ApprovalThresholds(max_rows=100_000, max_cost_usd=0.01)
    assert approval_reasons(estimate, cheap)[0].startswith("the estimated cost $")
    # Twice the rows, twice the cost; a bigger model costs more.
    assert estimate_cost(agent, rows=20_000, sample_rows=SAMPLE).cost_usd > estimate.cost_usd
    assert estimate_cost(with_llm(COMPANY, "gpt-4.1"), rows=10_000, sample_rows=SAMPLE).cost_usd > estimate.cost_usd


def test_a_model_without_a_price_needs_approval():
    estimate = estimate_cost(with_llm(COMPANY, "my-own-model", base_url="http://127.0.0.1:9"), rows=10)
    assert estimate.cost_usd is None
    assert approval_reasons(estimate, ApprovalThresholds()) == ["the cost is unknown (no price known for my-own-model)"]


def test_an_llm_agent_whose_model_comes_from_a_connection_is_unknown_until_resolved():
    agent = with_llm(COMPANY, None, conn_id="pydanticai_default")
    estimate = estimate_cost(agent, rows=10)
    assert estimate.cost_usd is None and approval_reasons(estimate, ApprovalThresholds()) == [
        "the cost is unknown (the llm agent names no model)"]
    assert estimate_cost(agent, rows=10, model="gpt-4o-mini").cost_usd > 0


def test_price_lookup_and_overrides():
    prices = price_table({"BATCHORCH_MODEL_PRICES": '{"my-own-model": [1, 2]}'})
    assert find_price("bedrock:us.anthropic.claude-3-5-haiku-20241022-v1:0", prices).output_per_million == 4.0
    assert find_price("openai:gpt-4o-mini", prices).input_per_million == 0.15
    assert find_price("my-own-model", prices).output_per_million == 2
    assert ApprovalThresholds.from_env({"BATCHORCH_APPROVAL_MAX_ROWS": "3"}).max_rows == 3


@pytest.mark.parametrize("text, kind, run_id", [
    ("status slack-0612-143055-a1b2", "status", "slack-0612-143055-a1b2"),
    ("status", "status", None),
    ("Status of run manual__2025-01-01T00:00:00+00:00?", "status", "manual__2025-01-01T00:00:00+00:00"),
    ("failures slack-0612-143055-a1b2", "failures", "slack-0612-143055-a1b2"),
    ("why did 15 companies fail?", "failures", None),
    ("Why did run slack-0612-ab12 fail?", "failures", "slack-0612-ab12"),
    ("retry-failed slack-0612-ab12", "retry_failed", "slack-0612-ab12"),
    ("retry failed rows", "retry_failed", None),
    ("help", "help", None),
    ("", "help", None),
    ("enrich s3://b/companies.csv with industry", "request", None),
    ("status report for my companies s3://x/y.csv", "request", None),
])
def test_chat_commands(text, kind, run_id):
    command = parse_chat_command(text)
    assert (command.kind, command.run_id) == (kind, run_id)
