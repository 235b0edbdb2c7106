"""A cascade is an ``AgentCall`` made of two: the cheap agent answers every row, and the rows its answer leaves in
doubt (the entry's ``escalate_when``, ``core/escalation_rule.py``) are answered again by ``escalate_to``.

``compose_agent_call(spec, build)`` is the one place that decides: ``build(spec)`` for an agent without a cascade,
else ``CascadeAgentCall(build(spec), build(spec.escalation_agent), spec)``. ``build`` makes one agent's call (the
worker's wraps each agent in its own ``CachedAgentCall``, so both agents' answers are deduplicated and cached under
their own keys, and the decision is made again from the cached cheap answer).

Every result and every row error that leaves a cascade carries a ``CascadeAnswer`` (``result.cascade``, or the
error's ``cascade`` attribute): which agent answered, whether and why the row escalated, and each agent's tokens.
The row processor writes the answering agent to ``_agent`` / ``_agent_version`` and counts the answers
(``core/cascade_tally.py``). Both calls share the row's ``timeout_seconds``. Tokens the cheap agent spent on an
escalated row count in the row's totals.
"""

from __future__ import annotations

from typing import Any, Callable

from airflow_provider_batchorch.core.agent_call import AgentCall, AgentResult
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.cascade_tally import CascadeAnswer
from airflow_provider_batchorch.core.errors import EscalationError
from airflow_provider_batchorch.core.output_validation import InvalidAgentOutput, OutputValidator, SchemaViolation


def _tokens(source: Any) -> tuple[int, int]:
    return getattr(source, "input_tokens", 0) or 0, getattr(source, "output_tokens", 0) or 0


def _attach(error: BaseException, answer: CascadeAnswer) -> None:
    """The row error carries the answer, and the tokens of both agents (the row processor adds the error's)."""
    error.cascade = answer  # type: ignore[attr-defined]
    error.input_tokens = answer.first_input_tokens + answer.second_input_tokens  # type: ignore[attr-defined]
    error.output_tokens = answer.first_output_tokens + answer.second_output_tokens  # type: ignore[attr-defined]


class CascadeAgentCall:
    def __init__(self, first: AgentCall, second: AgentCall, spec: AgentSpec) -> None:
        if spec.escalation_agent is None or spec.escalate_when is None:
            raise EscalationError(f"the agent '{spec.name}' has no resolved escalate_to.",
                                  hint="Resolve it with the registry (assemble_registry) before building its call.")
        self.first, self.second = first, second
        self.spec, self.strong, self.rule = spec, spec.escalation_agent, spec.escalate_when
        self.validator = OutputValidator(spec.output_schema or {"type": "object"})

    async def __call__(self, inputs: dict[str, Any]) -> AgentResult:
        cheap = CascadeAnswer(self.spec.name, self.spec.version)
        first: AgentResult | None = None
        try:
            first = await self.first(inputs)
            cheap.first_called = first.reused_from is None
            cheap.first_input_tokens, cheap.first_output_tokens = _tokens(first)
            output = self.validator.validate(first.output)
            reason = self.rule.reason(output)
        except (InvalidAgentOutput, SchemaViolation) as error:
            if first is None:
                cheap.first_called = True
                cheap.first_input_tokens, cheap.first_output_tokens = _tokens(error)
            if not self.rule.on_schema_failure:
                _attach(error, cheap)
                raise
            reason = "schema failure"
        except Exception as error:  # noqa: BLE001 - the cheap agent's own failure: the row fails with it
            cheap.first_called = True
            cheap.first_input_tokens, cheap.first_output_tokens = _tokens(error)
            _attach(error, cheap)
            raise
        if reason is None:
            assert first is not None
            return AgentResult(output=output, input_tokens=first.input_tokens, output_tokens=first.output_tokens,
                               reused_from=first.reused_from, cascade=cheap)
        answer = CascadeAnswer(self.strong.name, self.strong.version, escalated=True, reason=reason,
                               first_input_tokens=cheap.first_input_tokens,
                               first_output_tokens=cheap.first_output_tokens, first_called=cheap.first_called,
                               second_called=True)
        try:
            second = await self.second(inputs)
        except Exception as error:  # noqa: BLE001 - the strong agent's failure is the row's
            answer.second_input_tokens, answer.second_output_tokens = _tokens(error)
            _attach(error, answer)
            raise
        answer.second_input_tokens, answer.second_output_tokens = _tokens(second)
        answer.second_called = second.reused_from is None
        both_reused = second.reused_from is not None and first is not None and first.reused_from is not None
        return AgentResult(output=second.output,
                           input_tokens=answer.first_input_tokens + answer.second_input_tokens,
                           output_tokens=answer.first_output_tokens + answer.second_output_tokens,
                           reused_from=second.reused_from if both_reused else None, cascade=answer)


def compose_agent_call(spec: AgentSpec, build: Callable[[AgentSpec], AgentCall]) -> AgentCall:
    """The call a batch makes per row for ``spec``: its own, or its cascade (see the module)."""
    if spec.escalate_to is None:
        return build(spec)
    if spec.escalation_agent is None:
        raise EscalationError(f"the agent '{spec.name}' escalates to '{spec.escalate_to}', which was not resolved "
                              "among the trusted agents.",
                              hint="Add the stronger agent to a configured registry, or remove escalate_to.")
    return CascadeAgentCall(build(spec), build(spec.escalation_agent), spec)
