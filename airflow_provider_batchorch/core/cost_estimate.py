"""What a batch will cost before it runs, and whether someone should approve it first.

Tokens per row are estimated from the CSV's sample rows (the mapped inputs as the LLM agent sends them, one JSON
object per row), the agent's prompt and output schema (sent with every call), and a typical answer for the
schema; about four characters make a token. Re-asks after an invalid answer are not counted. The price table
is USD per million tokens, list prices; override or extend it with ``BATCHORCH_MODEL_PRICES``
(``{"my-model": [input_per_million, output_per_million]}``, optionally a third number: the fraction its
provider's batch API takes off, ``0.5`` for half price).

Each estimate is priced per execution mode: ``realtime`` (one call per row) and ``batch_api`` (the provider's
asynchronous batch API at its batch discount: half price at OpenAI, Anthropic and Bedrock). ``token_cost``
prices the tokens a batch actually spent the same way (``core.actual_cost``).

Offline agents (``python``) cost nothing; ``lambda`` and ``stepfunctions`` agents are not priced by token.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Literal, Mapping

from pydantic import BaseModel, Field

from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.schema_example import example_for

CHARS_PER_TOKEN = 4
INSTRUCTIONS_CHARS = 900  # the rules every LLM call carries besides the agent's own prompt
ANSWER_CHARS_PER_STRING = 80  # a typical free-text value in an answer (the schema example is shorter)


ExecutionMode = Literal["realtime", "batch_api"]
EXECUTION_MODES: tuple[ExecutionMode, ...] = ("realtime", "batch_api")

# The fraction of the list price a provider's asynchronous batch API takes off (2025 list prices).
BATCH_DISCOUNTS: dict[str, float] = {"openai": 0.5, "anthropic": 0.5, "bedrock": 0.5}
# Model name parts that tell the provider when the model string has no ``provider:`` prefix.
_PROVIDER_HINTS = (("anthropic.", "bedrock"), ("amazon.", "bedrock"), ("nova-", "bedrock"), ("gpt-", "openai"),
                   ("claude", "anthropic"))


class ModelPrice(BaseModel):
    input_per_million: float = Field(ge=0)
    output_per_million: float = Field(ge=0)
    batch_discount: float | None = Field(
        None, ge=0, le=1, description="Fraction off with the provider's batch API; None: the provider's default")


def _price(input_per_million: float, output_per_million: float, batch_discount: float | None = None) -> ModelPrice:
    return ModelPrice(input_per_million=input_per_million, output_per_million=output_per_million,
                      batch_discount=batch_discount)


# List prices in USD per million tokens (2025). Keys match a model name or a part of it (Bedrock ids).
DEFAULT_PRICES: dict[str, ModelPrice] = {
    "test": _price(0, 0),
    "gpt-4.1-nano": _price(0.10, 0.40),
    "gpt-4.1-mini": _price(0.40, 1.60),
    "gpt-4.1": _price(2.00, 8.00),
    "gpt-4o-mini": _price(0.15, 0.60),
    "gpt-4o": _price(2.50, 10.00),
    "claude-3-haiku": _price(0.25, 1.25),
    "claude-3-5-haiku": _price(0.80, 4.00),
    "claude-3-5-sonnet": _price(3.00, 15.00),
    "claude-3-7-sonnet": _price(3.00, 15.00),
    "claude-sonnet-4": _price(3.00, 15.00),
    "claude-opus-4": _price(15.00, 75.00),
    "nova-micro": _price(0.035, 0.14),
    "nova-lite": _price(0.06, 0.24),
    "nova-pro": _price(0.80, 3.20),
}


class CostEstimate(BaseModel):
    agent: str
    model: str | None = Field(None, description="The LLM the rows go to; None for an agent that is no LLM")
    rows: int
    input_tokens_per_row: int = 0
    output_tokens_per_row: int = 0
    execution_mode: ExecutionMode = Field("realtime", description="The mode ``cost_usd`` is priced for")
    cost_usd: float | None = Field(None, description="In ``execution_mode``; None when the model has no price")
    cost_usd_by_mode: dict[str, float | None] = Field(
        default_factory=dict, description="realtime and batch_api; batch_api None when no batch API is known")
    basis: str = Field("", description="How the number was reached, for the approval message")
    cost_usd_max: float | None = Field(None, description="A cascade whose escalation rate is unknown: the cost if "
                                       "every row escalates (cost_usd: if none does); core/cascade_estimate.py")

    @property
    def total_tokens(self) -> int:
        return self.rows * (self.input_tokens_per_row + self.output_tokens_per_row)


class ApprovalThresholds(BaseModel):
    """Above either threshold a batch waits for a human to approve it."""

    max_rows: int = Field(1000, ge=0)
    max_cost_usd: float = Field(5.0, ge=0)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "ApprovalThresholds":
        environ = os.environ if environ is None else environ
        values = {key: environ[name] for key, name in (("max_rows", "BATCHORCH_APPROVAL_MAX_ROWS"),
                                                       ("max_cost_usd", "BATCHORCH_APPROVAL_MAX_COST_USD"))
                  if environ.get(name, "").strip()}
        return cls.model_validate(values)


def price_table(environ: Mapping[str, str] | None = None) -> dict[str, ModelPrice]:
    """The default prices, overridden by ``BATCHORCH_MODEL_PRICES``."""
    environ = os.environ if environ is None else environ
    table = dict(DEFAULT_PRICES)
    raw = environ.get("BATCHORCH_MODEL_PRICES", "").strip()
    if raw:
        for name, values in json.loads(raw).items():
            table[name] = _table_entry(values)
    return table


def _table_entry(values: Any) -> ModelPrice:
    input_price, output_price, *discount = values
    return _price(float(input_price), float(output_price), float(discount[0]) if discount else None)


def find_price(model: str, prices: Mapping[str, ModelPrice]) -> ModelPrice | None:
    """The price of ``model`` ("openai:gpt-4.1-mini", "bedrock:us.anthropic.claude-3-5-haiku-...-v1:0")."""
    _, _, bare = model.rpartition(":") if model.count(":") == 1 else ("", "", model)
    for candidate in (model, bare):
        if candidate in prices:
            return prices[candidate]
    for key in sorted(prices, key=len, reverse=True):  # the longest key that is part of the name wins
        if key != "test" and key in model:
            return prices[key]
    return None


def provider_of(model: str) -> str | None:
    """``openai`` for "openai:gpt-4.1-mini" or "gpt-4o", ``bedrock`` for "bedrock:...", else None."""
    prefix, colon, _ = model.partition(":")
    if colon and prefix.isidentifier():
        return prefix.removesuffix("-chat").removesuffix("-responses")
    return next((provider for hint, provider in _PROVIDER_HINTS if hint in model), None)


def batch_discount(model: str, price: ModelPrice | None = None) -> float | None:
    """The fraction the batch API takes off for ``model``; None when its provider has no batch API we know."""
    if price is not None and price.batch_discount is not None:
        return price.batch_discount
    return BATCH_DISCOUNTS.get(provider_of(model) or "")


def token_cost(model: str | None, input_tokens: int, output_tokens: int, *, mode: ExecutionMode = "realtime",
               prices: Mapping[str, ModelPrice] | None = None) -> float | None:
    """USD for these tokens on ``model`` in ``mode``; None when the model (or its batch discount) is unknown."""
    if model is None:
        return None
    price = find_price(model, prices if prices is not None else price_table())
    if price is None:
        return None
    cost = (input_tokens * price.input_per_million + output_tokens * price.output_per_million) / 1_000_000
    if mode == "batch_api":
        discount = batch_discount(model, price)
        if discount is None:
            return None
        cost *= 1 - discount
    return round(cost, 6)


def _tokens(chars: int) -> int:
    return math.ceil(chars / CHARS_PER_TOKEN)


def _row_chars(sample_rows: list[dict[str, Any]], input_mapping: Mapping[str, str]) -> float:
    if not sample_rows:
        return 200.0
    sizes = []
    for row in sample_rows:
        inputs = {field: row.get(column) for field, column in input_mapping.items()} if input_mapping else row
        sizes.append(len(json.dumps(inputs, ensure_ascii=False, default=str)))
    return sum(sizes) / len(sizes)


def _answer_chars(schema: dict[str, Any]) -> int:
    properties = (schema or {}).get("properties", {})
    strings = sum(1 for sub in properties.values() if "string" in json.dumps(sub.get("type", "")))
    return len(json.dumps(example_for(schema or {}), default=str)) + ANSWER_CHARS_PER_STRING * strings


def estimate_cost(
    agent: AgentSpec,
    *,
    rows: int,
    sample_rows: list[dict[str, Any]] | None = None,
    input_mapping: Mapping[str, str] | None = None,
    model: str | None = None,
    prices: Mapping[str, ModelPrice] | None = None,
    execution_mode: ExecutionMode = "realtime",
) -> CostEstimate:
    """Tokens per row and total cost of running ``agent`` over ``rows`` rows like ``sample_rows``.

    :param model: The LLM that will answer; default the agent's own ``llm`` invocation model, if any.
    :param input_mapping: agent input field -> CSV column, to size the inputs the agent is sent.
    :param execution_mode: The mode ``cost_usd`` is for; ``cost_usd_by_mode`` has both.
    """
    kind = agent.invocation.kind
    model = model or (getattr(agent.invocation, "model", None) if kind == "llm" else None)
    if kind == "llm" and model is None:
        return CostEstimate(agent=agent.name, model="unknown", rows=rows, basis="the llm agent names no model")
    if model is None:
        basis = "offline agent: no model cost" if kind == "python" else f"{kind} agent: not priced by token"
        cost = 0.0 if kind == "python" else None
        return CostEstimate(agent=agent.name, rows=rows, execution_mode=execution_mode, cost_usd=cost,
                            cost_usd_by_mode=dict.fromkeys(EXECUTION_MODES, cost), basis=basis)
    schema_chars = len(json.dumps(agent.output_schema or {}))
    prompt_chars = len(agent.prompt or agent.description) + INSTRUCTIONS_CHARS + schema_chars
    input_tokens = _tokens(int(prompt_chars + _row_chars(sample_rows or [], input_mapping or {})))
    output_tokens = _tokens(_answer_chars(agent.output_schema or {}))
    prices = prices if prices is not None else price_table()
    price = find_price(model, prices)
    estimate = CostEstimate(agent=agent.name, model=model, rows=rows, input_tokens_per_row=input_tokens,
                            output_tokens_per_row=output_tokens, execution_mode=execution_mode,
                            cost_usd_by_mode=dict.fromkeys(EXECUTION_MODES))
    if price is None:
        estimate.basis = f"no price known for {model}"
        return estimate
    for mode in EXECUTION_MODES:
        cost = token_cost(model, input_tokens * rows, output_tokens * rows, mode=mode, prices=prices)
        estimate.cost_usd_by_mode[mode] = None if cost is None else round(cost, 4)
    estimate.cost_usd = estimate.cost_usd_by_mode[execution_mode]
    estimate.basis = (f"~{input_tokens} input + {output_tokens} output tokens per row at ${price.input_per_million:g}"
                      f" / ${price.output_per_million:g} per million ({model})")
    return estimate


def in_mode(estimate: CostEstimate, mode: ExecutionMode) -> CostEstimate:
    """The same estimate with ``cost_usd`` for ``mode`` (the mode the batch resolved to)."""
    if mode == estimate.execution_mode or mode not in estimate.cost_usd_by_mode:
        return estimate
    return estimate.model_copy(update={"execution_mode": mode, "cost_usd": estimate.cost_usd_by_mode[mode]})


def approval_reasons(estimate: CostEstimate, thresholds: ApprovalThresholds) -> list[str]:
    """Why this batch needs a human's approval; empty when it can start at once."""
    reasons = []
    if estimate.rows > thresholds.max_rows:
        reasons.append(f"{estimate.rows:,} rows is more than {thresholds.max_rows:,}")
    highest = estimate.cost_usd_max if estimate.cost_usd_max is not None else estimate.cost_usd
    if highest is not None and highest > thresholds.max_cost_usd:
        reasons.append(f"the estimated cost ${highest:,.2f} is more than ${thresholds.max_cost_usd:,.2f}")
    if estimate.cost_usd is None and estimate.model is not None:
        reasons.append(f"the cost is unknown ({estimate.basis})")
    return reasons


def format_usd(cost: float | None) -> str:
    """``$1.23``, ``$0.0042`` (small amounts keep two significant digits), ``unknown`` for None."""
    if cost is None:
        return "unknown"
    return f"${cost:,.2f}" if cost >= 0.01 or cost == 0 else f"${cost:.2g}"


def describe_estimate(estimate: CostEstimate) -> str:
    """``500 rows with A, estimated cost $0.96 in batch_api mode, $1.91 in realtime (~775 input + ...)``."""
    text = f"{estimate.rows:,} rows with {estimate.agent}, estimated cost {format_usd(estimate.cost_usd)}"
    if estimate.cost_usd_max is not None:
        text += f" to {format_usd(estimate.cost_usd_max)}"
    if estimate.model is not None:  # an LLM: both modes
        text += f" in {estimate.execution_mode} mode" + "".join(
            f", {format_usd(cost)} in {mode}" for mode, cost in estimate.cost_usd_by_mode.items()
            if mode != estimate.execution_mode)
    return f"{text} ({estimate.basis})"
