"""What a cascade did: one ``CascadeAnswer`` per row, counted per chunk (``CascadeTally``, in
``ChunkSummary.cascade``) and reported per batch (``CascadeReport``, in ``BatchSummary.cascade``) against running
the strong agent on every row.

The baseline "strong agent on every row" makes one strong call per row. Its cost is what the strong agent really
spent on the escalated rows, plus, for the rows the cheap answer kept, the tokens the cheap agent spent on them
priced at the strong agent's prices (same row, same output schema: about the same tokens). Prices are the price
table's (``core/cost_estimate.py``: ``BATCHORCH_MODEL_PRICES`` overrides); a ``python`` agent costs 0, a
``lambda`` / ``stepfunctions`` agent or an unpriced model leaves the costs ``None`` (unknown, never a made-up 0).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from pydantic import BaseModel, Field

from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.cost_estimate import find_price, price_table


@dataclass
class CascadeAnswer:
    """One row's answer out of a cascade (``core/cascade_call.py``): who answered, why it escalated, tokens."""

    agent: str
    version: str
    escalated: bool = False
    reason: str | None = None  # why it escalated, groupable ("confidence_score below 0.7", "schema failure")
    first_input_tokens: int = 0
    first_output_tokens: int = 0
    second_input_tokens: int = 0
    second_output_tokens: int = 0
    first_called: bool = False  # the cheap agent was called (not answered from its cache)
    second_called: bool = False  # the strong agent was called (not answered from its cache)


_COUNTS = ("rows", "rows_escalated", "cheap_calls", "strong_calls", "cheap_input_tokens", "cheap_output_tokens",
           "kept_input_tokens", "kept_output_tokens", "strong_input_tokens", "strong_output_tokens")


class CascadeTally(BaseModel):
    rows: int = Field(0, description="Rows that went through the cascade")
    rows_escalated: int = 0
    cheap_calls: int = Field(0, description="Calls of the cheap agent made (rows not answered by its cache)")
    strong_calls: int = Field(0, description="Calls of the strong agent made (escalations not answered by its cache)")
    escalation_reasons: dict[str, int] = Field(default_factory=dict)
    cheap_input_tokens: int = 0
    cheap_output_tokens: int = 0
    kept_input_tokens: int = Field(0, description="The cheap agent's tokens on the rows its answer kept")
    kept_output_tokens: int = 0
    strong_input_tokens: int = 0
    strong_output_tokens: int = 0

    def record(self, answer: CascadeAnswer | None) -> None:
        if answer is None:
            return
        self.rows += 1
        self.cheap_calls += answer.first_called
        self.cheap_input_tokens += answer.first_input_tokens
        self.cheap_output_tokens += answer.first_output_tokens
        if answer.escalated:
            self.rows_escalated += 1
            self.strong_calls += answer.second_called
            self.strong_input_tokens += answer.second_input_tokens
            self.strong_output_tokens += answer.second_output_tokens
            reason = answer.reason or "escalated"
            self.escalation_reasons[reason] = self.escalation_reasons.get(reason, 0) + 1
        else:
            self.kept_input_tokens += answer.first_input_tokens
            self.kept_output_tokens += answer.first_output_tokens

    @classmethod
    def total(cls, tallies: Iterable["CascadeTally | None"]) -> "CascadeTally | None":
        present = [tally for tally in tallies if tally is not None and tally.rows]
        if not present:
            return None
        total = cls()
        reasons: Counter = Counter()
        for tally in present:
            for name in _COUNTS:
                setattr(total, name, getattr(total, name) + getattr(tally, name))
            reasons.update(tally.escalation_reasons)
        total.escalation_reasons = dict(reasons.most_common())
        return total


class CascadeReport(BaseModel):
    agent: str = Field(description="The cheap agent, which answered first")
    escalate_to: str
    rows: int
    rows_escalated: int
    escalation_rate: float = Field(description="Percent of the cascade's rows that escalated")
    escalation_reasons: dict[str, int] = Field(default_factory=dict)
    agent_calls: int = Field(description="Calls made: the cheap agent's and the strong agent's")
    strong_only_calls: int = Field(description="Calls the strong agent alone would have made: one per row the cheap "
                                   "agent was called for (duplicates and cached rows cost no call either way)")
    strong_calls_saved: int = Field(description="strong_only_calls minus the strong agent's calls")
    cost_usd: float | None = Field(None, description="Both agents' tokens at their prices")
    strong_only_cost_usd: float | None = Field(None, description="The strong agent on every row (see the module)")
    cost_saved_usd: float | None = None


def _cost(spec: AgentSpec, input_tokens: int, output_tokens: int) -> float | None:
    invocation = spec.invocation
    if invocation.kind == "python":
        return 0.0
    model = getattr(invocation, "model", None) if invocation.kind == "llm" else None
    price = find_price(model, price_table()) if model else None
    if price is None:
        return None
    return (input_tokens * price.input_per_million + output_tokens * price.output_per_million) / 1_000_000


def _sum(*values: float | None) -> float | None:
    return None if any(value is None for value in values) else round(sum(values), 6)  # type: ignore[arg-type]


def cascade_report(spec: AgentSpec, tally: CascadeTally | None) -> CascadeReport | None:
    """The batch's cascade figures for the cheap agent ``spec`` (``None`` when no row went through a cascade)."""
    if tally is None or spec.escalation_agent is None:
        return None
    strong = spec.escalation_agent
    actual = _sum(_cost(spec, tally.cheap_input_tokens, tally.cheap_output_tokens),
                  _cost(strong, tally.strong_input_tokens, tally.strong_output_tokens))
    baseline = _cost(strong, tally.strong_input_tokens + tally.kept_input_tokens,
                     tally.strong_output_tokens + tally.kept_output_tokens)
    saved = None if actual is None or baseline is None else round(baseline - actual, 6)
    return CascadeReport(
        agent=spec.name, escalate_to=strong.name, rows=tally.rows, rows_escalated=tally.rows_escalated,
        escalation_rate=round(100.0 * tally.rows_escalated / tally.rows, 1) if tally.rows else 0.0,
        escalation_reasons=tally.escalation_reasons, agent_calls=tally.cheap_calls + tally.strong_calls,
        strong_only_calls=tally.cheap_calls, strong_calls_saved=tally.cheap_calls - tally.strong_calls,
        cost_usd=actual, strong_only_cost_usd=None if baseline is None else round(baseline, 6), cost_saved_usd=saved,
    )


def cascade_text(report: CascadeReport) -> str:
    """One summary line: ``- Cascade: 20 of 100 rows escalated from cheap to strong (...); 80 strong calls saved``."""
    reasons = ", ".join(f"{count} {reason}" for reason, count in report.escalation_reasons.items())
    line = (f"- Cascade: {report.rows_escalated} of {report.rows} rows escalated from {report.agent} to "
            f"{report.escalate_to}" + (f" ({reasons})" if reasons else "") +
            f"; {report.strong_calls_saved} calls of {report.escalate_to} saved against running it on every row")
    if report.cost_saved_usd is not None and report.strong_only_cost_usd:
        line += (f", cost ${report.cost_usd:,.4f} instead of ${report.strong_only_cost_usd:,.4f} "
                 f"(${report.cost_saved_usd:,.4f} saved)")
    return line
