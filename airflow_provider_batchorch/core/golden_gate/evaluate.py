"""Run the agent over the golden sample, score every labelled field, and decide whether the batch may go on.

``evaluate_golden(spec, call, sample, ...)`` calls the agent once per sample row (``concurrency`` at a time, each
within ``timeout_seconds``), checks the answer against the agent's output schema like a batch row, and compares each
labelled field (``compare.values_match``). A row the agent fails counts as wrong in every field it has a label for.
A field passes at ``accuracy >= min_accuracy``; ``check_gate(report)`` raises ``GoldenGateFailedError`` (with the
report in ``details``) unless every field passes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from airflow_provider_batchorch.core.agent_call import AgentCall
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.csv.output import format_cell
from airflow_provider_batchorch.core.errors import GoldenGateFailedError
from airflow_provider_batchorch.core.golden_gate.compare import Tolerance, values_match
from airflow_provider_batchorch.core.golden_gate.report import MAX_MISMATCHES, FieldAccuracy, GoldenReport, Mismatch
from airflow_provider_batchorch.core.golden_gate.sample import GoldenSample, read_golden_sample
from airflow_provider_batchorch.core.mapping import build_agent_inputs
from airflow_provider_batchorch.core.output_validation import OutputValidator
from airflow_provider_batchorch.core.row_deadline import ROW_DEADLINE, RowDeadline
from airflow_provider_batchorch.core.row_processing import describe_failure
from airflow_provider_batchorch.core.transforms.row_transforms import RowTransforms
from airflow_provider_batchorch.core.transforms.rules import TransformRules

DEFAULT_MIN_ACCURACY = 0.9


async def answer_sample(spec: AgentSpec, call: AgentCall, sample: GoldenSample, timeout_seconds: float,
                   concurrency: int) -> list[dict[str, Any] | str]:
    """Per sample row: the schema-checked answer, or the row's error message. ``spec``: the sample's effective
    agent; its input rules build each row's inputs as in the batch (a rule failing on a row fails the row)."""
    validator = OutputValidator(spec.output_schema or {"type": "object"})
    rules = RowTransforms(spec, sample.columns)
    gate = asyncio.Semaphore(concurrency)

    async def one(row: dict[str, str]) -> dict[str, Any] | str:
        async with gate:
            try:
                rules.skips(row)  # a filter failing on the row fails it, as in the batch
                inputs = build_agent_inputs(rules.input_row(row), sample.input_mapping, spec)
                deadline = RowDeadline(timeout_seconds)
                ROW_DEADLINE.set(deadline)
                result = await deadline.run(call(inputs))
                return validator.validate(result.output)
            except Exception as exc:  # noqa: BLE001 - the row's failure is a wrong answer, not the gate's
                return f"error: {describe_failure(exc, timeout_seconds).message}"

    return list(await asyncio.gather(*(one(row) for row in sample.rows)))


class EscalationCount:
    """``call`` that counts the rows its cascade escalated (``GoldenReport.rows_escalated``: a cascade's rate)."""

    def __init__(self, call: AgentCall) -> None:
        self.call, self.rows = call, 0

    async def __call__(self, inputs: dict[str, Any]) -> Any:
        result = await self.call(inputs)
        self.rows += bool(getattr(result.cascade, "escalated", False))
        return result


def score(agent: str, sample: GoldenSample, answers: list[dict[str, Any] | str], *, min_accuracy: float,
          tolerance: Tolerance | None = None) -> GoldenReport:
    fields = []
    for name, column in sample.labels.items():
        scored = correct = 0
        mismatches: list[Mismatch] = []
        for number, (row, answer) in enumerate(zip(sample.rows, answers), start=1):
            label = row.get(column, "")
            if not label.strip():
                continue
            scored += 1
            value = answer.get(name) if isinstance(answer, dict) else None
            if isinstance(answer, dict) and values_match(label, value, tolerance):
                correct += 1
            elif len(mismatches) < MAX_MISMATCHES:
                actual = format_cell(value) if isinstance(answer, dict) else answer
                mismatches.append(Mismatch(row=number, expected=label, actual=actual[:300]))
        accuracy = correct / scored if scored else 1.0
        fields.append(FieldAccuracy(field=name, scored=scored, correct=correct, accuracy=round(accuracy, 4),
                                    passed=accuracy >= min_accuracy, mismatches=mismatches))
    return GoldenReport(agent=agent, source=sample.source, rows=len(sample.rows),
                        rows_failed=sum(isinstance(answer, str) for answer in answers), agent_calls=len(sample.rows),
                        min_accuracy=min_accuracy, fields=fields)


async def evaluate_golden(spec: AgentSpec, call: AgentCall, sample: GoldenSample, *,
                          min_accuracy: float = DEFAULT_MIN_ACCURACY, timeout_seconds: float = 60.0,
                          concurrency: int = 10, tolerance: Tolerance | None = None) -> GoldenReport:
    counted = EscalationCount(call)
    answers = await answer_sample(spec, counted, sample, timeout_seconds, max(1, concurrency))
    report = score(spec.name, sample, answers, min_accuracy=min_accuracy, tolerance=tolerance)
    return report.model_copy(update={"rows_escalated": counted.rows})


def check_gate(report: GoldenReport) -> GoldenReport:
    """The report when every field is at or above the threshold; else ``GoldenGateFailedError``."""
    if report.passed:
        return report
    below = ", ".join(f"{f.field} {f.accuracy:.0%}" for f in report.fields if not f.passed)
    raise GoldenGateFailedError(
        f"the agent '{report.agent}' scored below {report.min_accuracy:.0%} on the golden sample {report.source}: "
        f"{below}; no other row was called.",
        hint="Fix the agent (or its prompt / escalate_to) and run `batchorch evaluate` until it passes, or lower "
        "golden_min_accuracy.",
        details={"report": report.model_dump(mode="json")})


def run_golden_sample(spec: AgentSpec, compose: Callable[[AgentSpec], AgentCall], text: str, *, source: str,
                      input_mapping: dict[str, str] | None = None, fields: list[str] | None = None,
                      min_accuracy: float = DEFAULT_MIN_ACCURACY, timeout_seconds: float = 60.0,
                      concurrency: int = 10, tolerance: Tolerance | None = None,
                      transforms: TransformRules | None = None) -> GoldenReport:
    """``read_golden_sample`` + ``evaluate_golden`` on a fresh event loop (a task, the CLI): ``compose`` builds
    the call of the sample's effective agent (the batch's ``transforms`` on it, ``sample_transforms``)."""
    sample = read_golden_sample(text, spec, source=source, input_mapping=input_mapping, fields=fields,
                                transforms=transforms)
    effective = sample.agent or spec
    return asyncio.run(evaluate_golden(effective, compose(effective), sample, min_accuracy=min_accuracy, timeout_seconds=timeout_seconds,
                                       concurrency=concurrency, tolerance=tolerance))
