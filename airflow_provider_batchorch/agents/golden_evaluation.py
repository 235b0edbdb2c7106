"""Run an agent (or its cascade) over a golden sample: the gate task and ``batchorch evaluate`` (core/golden_gate/)."""

from __future__ import annotations

import asyncio
from typing import Any

from airflow_provider_batchorch.agents.kinds import build_agent_call
from airflow_provider_batchorch.agents.python_agent import close_agent_process_pools
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.cascade_call import compose_agent_call
from airflow_provider_batchorch.core.golden_gate.evaluate import run_golden_sample
from airflow_provider_batchorch.core.golden_gate.judge import evaluate_judged
from airflow_provider_batchorch.core.golden_gate.report import GoldenReport
from airflow_provider_batchorch.core.golden_gate.sample import GoldenSample


def evaluate_agent(spec: AgentSpec, text: str, *, source: str, **options: Any) -> GoldenReport:
    """The per-field report of ``spec`` on the golden CSV ``text``; ``options``: ``run_golden_sample``'s."""
    try:
        return run_golden_sample(spec, lambda effective: compose_agent_call(effective, build_agent_call), text,
                                 source=source, **options)
    finally:
        close_agent_process_pools()


def judge_agent(spec: AgentSpec, judge: AgentSpec, sample: GoldenSample, **options: Any) -> GoldenReport:
    """The per-field report of ``spec`` on ``sample`` (the first rows of the input) as the trusted ``judge`` scores
    it; ``options``: ``evaluate_judged``'s."""
    spec = sample.agent or spec  # with the batch's transforms (core/golden_gate/sample_transforms.py)
    try:
        return asyncio.run(evaluate_judged(spec, compose_agent_call(spec, build_agent_call), judge,
                                           build_agent_call(judge), sample, **options))
    finally:
        close_agent_process_pools()
