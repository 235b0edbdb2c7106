"""What a batch cost: the tokens its rows spent (counted per row by the row processor, summed per chunk) at the
price table's prices (``core.cost_estimate.token_cost``), per agent, next to the estimate made before it ran.

An agent that is no LLM costs nothing (``python``) or is not priced by token (``lambda``, ``stepfunctions``:
None). An LLM whose model has no price is None too: unknown, never a made-up zero.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.cost_estimate import CostEstimate, ExecutionMode, token_cost


class AgentCost(BaseModel):
    """One agent's share of a batch: rows it answered, tokens, and cost estimated before and spent after."""

    agent: str
    model: str | None = Field(None, description="The LLM it called; None for an agent that is no LLM")
    execution_mode: ExecutionMode = "realtime"
    rows: int = Field(0, description="Rows it processed")
    agent_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    input_tokens_per_row: float = Field(0.0, description="Tokens spent per row processed (re-asks included)")
    output_tokens_per_row: float = 0.0
    estimated_cost_usd: float | None = Field(None, description="Before the batch, for its rows")
    cost_usd: float | None = Field(None, description="Actual: its tokens at the price table's prices")


def per_row(tokens: int, rows: int) -> float:
    return round(tokens / rows, 1) if rows else 0.0


def agent_cost(agent: AgentSpec, estimate: CostEstimate | None, *, rows: int, agent_calls: int, input_tokens: int,
               output_tokens: int, execution_mode: ExecutionMode | None = None) -> AgentCost:
    """The cost of ``agent`` on ``rows`` rows; the model is the agent's own, else the one the estimate found."""
    invocation = agent.invocation
    model = getattr(invocation, "model", None) if invocation.kind == "llm" else None
    model = model or (estimate.model if estimate is not None and estimate.model != "unknown" else None)
    mode = execution_mode or (estimate.execution_mode if estimate is not None else "realtime")
    if model is not None:
        cost = token_cost(model, input_tokens, output_tokens, mode=mode)
    else:
        cost = 0.0 if invocation.kind == "python" else None
    return AgentCost(
        agent=agent.name, model=model, execution_mode=mode, rows=rows, agent_calls=agent_calls,
        input_tokens=input_tokens, output_tokens=output_tokens, input_tokens_per_row=per_row(input_tokens, rows),
        output_tokens_per_row=per_row(output_tokens, rows),
        estimated_cost_usd=estimate.cost_usd if estimate is not None else None,
        cost_usd=None if cost is None else round(cost, 6),
    )


def total_cost(costs: list[AgentCost], field: str = "cost_usd") -> float | None:
    """The sum of the agents' costs; None when any is unknown (a partial sum would read as the whole)."""
    values = [getattr(cost, field) for cost in costs]
    if not values or any(value is None for value in values):
        return None
    return round(sum(values), 6)
