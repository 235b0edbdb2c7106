"""What every agent kind is adapted to: ``await agent_call(inputs) -> AgentResult`` (the kinds: ``agents/kinds.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Protocol


@dataclass
class AgentResult:
    output: Any
    input_tokens: int = 0
    output_tokens: int = 0
    reused_from: str | None = None  # "batch" (a duplicate row of this batch) or "store" (an earlier batch)
    cascade: Any = None  # a core.cascade_call.CascadeAnswer: which agent of a cascade answered, and why


class AgentCall(Protocol):
    def __call__(self, inputs: dict[str, Any]) -> Awaitable[AgentResult]: ...
