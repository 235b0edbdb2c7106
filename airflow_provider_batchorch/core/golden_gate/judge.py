"""The judged sample: no labels, but the first N input rows, the agent's answers, and a trusted judge agent's verdicts.

The agent answers the first ``golden_judge_rows`` rows of the batch's own CSV (the same way as the labelled
sample: ``evaluate.answer_sample``). Then the judge agent is called once per answered row with these inputs -- all
data, never instructions (an LLM judge gets them between the row markers, like any row):

- ``inputs``: the agent's inputs for that row (a JSON object),
- ``answer``: the agent's answer, the judged fields only (a JSON object),
- ``fields``: the names of the fields to judge (a list).

The judge answers one JSON object with one key per judged field: ``true`` (right) / ``false`` (wrong), or a score
between 0 and 1 that counts as right at ``JUDGE_PASS_SCORE`` (0.5) or above. A missing key, any other value, or a
judge call that failed counts as wrong -- a gate that cannot tell does not let the batch go on. A row the agent
failed is wrong in every field and is not sent to the judge. Per-field accuracy is the share judged right; the
threshold, the report and ``check_gate`` are the labelled sample's. The fields judged: the ones asked for
(``output_fields``), else the agent's output fields that the judge's output schema names, else all of them.
"""

from __future__ import annotations

import asyncio
import csv
import itertools
import math
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field

from airflow_provider_batchorch.core.agent_call import AgentCall
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.csv.output import format_cell
from airflow_provider_batchorch.core.errors import GoldenSampleError
from airflow_provider_batchorch.core.golden_gate.evaluate import DEFAULT_MIN_ACCURACY, EscalationCount, answer_sample
from airflow_provider_batchorch.core.golden_gate.report import MAX_MISMATCHES, FieldAccuracy, GoldenReport, Mismatch
from airflow_provider_batchorch.core.golden_gate.sample import GoldenSample
from airflow_provider_batchorch.core.golden_gate.sample_transforms import SamplePlan
from airflow_provider_batchorch.core.mapping import build_agent_inputs
from airflow_provider_batchorch.core.models import CsvProfile
from airflow_provider_batchorch.core.row_deadline import ROW_DEADLINE, RowDeadline
from airflow_provider_batchorch.core.row_processing import describe_failure
from airflow_provider_batchorch.core.transforms.row_transforms import RowTransforms
from airflow_provider_batchorch.core.transforms.rules import TransformRules

JUDGE_PASS_SCORE = 0.5


class Verdict(BaseModel):
    right: bool
    said: str = Field(description="What the judge answered for the field, as text (for the report)")


def read_judge_sample(lines: Iterable[str], agent: AgentSpec, rows: int, *, source: str,
                      input_mapping: dict[str, str] | None = None, profile: CsvProfile | None = None,
                      transforms: TransformRules | None = None) -> GoldenSample:
    """The first ``rows`` rows of the batch CSV (``lines``, read no further) that the batch's row filter selects,
    as a sample without labels. ``profile``: ``analyze_csv``'s, whose delimiter and quote character the rows are
    read with, as the workers read them (decode ``lines`` with ``csv_text_encoding(profile)``); without one, a
    comma CSV. ``transforms``: the conf's, planned as for the batch (``sample_transforms``)."""
    dialect = {"delimiter": profile.delimiter, "quotechar": profile.quotechar} if profile else {}
    records = csv.reader(lines, strict=False, **dialect)
    header = next(records, None) or []
    columns = profile.columns if profile else header
    plan = SamplePlan(agent, columns, transforms, input_mapping)
    sample: list[dict[str, str]] = []
    for row in plan.selected(dict(itertools.zip_longest(columns, record[:len(columns)], fillvalue=""))
                              for record in records if record):
        sample.append(row)
        if len(sample) >= rows:
            break
    if not sample:
        raise GoldenSampleError(f"the CSV {source} has no rows for the judge.", hint="Give a CSV with data rows.")
    return GoldenSample(source=source, rows=sample, labels={}, input_mapping=plan.input_mapping, columns=columns,
                        agent=plan.agent)


def csv_text_encoding(profile: CsvProfile | None) -> str:
    """The codec to read the profiled CSV as text with: its detected encoding, a UTF-8 BOM skipped."""
    encoding = profile.encoding if profile else "utf-8"
    return "utf-8-sig" if encoding.replace("_", "-").lower() in ("utf-8", "utf8") else encoding


def verdict(judged: Any, field: str) -> Verdict:
    """The judge's verdict on ``field`` from its output ``judged`` (see the module for the rule)."""
    value = judged.get(field) if isinstance(judged, dict) else None
    if isinstance(value, bool):
        return Verdict(right=value, said=str(value).lower())
    if isinstance(value, (int, float)) and math.isfinite(value) and 0 <= value <= 1:
        return Verdict(right=value >= JUDGE_PASS_SCORE, said=f"score {value:g}")
    return Verdict(right=False, said="no verdict" if value is None else f"not a verdict: {format_cell(value)[:80]}")


def judged_fields(agent: AgentSpec, judge: AgentSpec) -> list[str]:
    """The agent's output fields that the judge's output schema names (all of them when it names none)."""
    named = set((judge.output_schema or {}).get("properties") or {})
    return [name for name in agent.output_fields if name in named] or list(agent.output_fields)


async def _judgements(judge: AgentCall, agent: AgentSpec, sample: GoldenSample, answers: list[dict[str, Any] | str],
                      fields: list[str], timeout_seconds: float, concurrency: int) -> list[Any]:
    """Per sample row: the judge's output, or the error text (the agent's or the judge's)."""
    gate = asyncio.Semaphore(concurrency)
    rules = RowTransforms(agent, sample.columns)

    async def one(row: dict[str, str], answer: dict[str, Any] | str) -> Any:
        if isinstance(answer, str):
            return answer
        async with gate:
            try:
                inputs = {"inputs": build_agent_inputs(rules.input_row(row), sample.input_mapping, agent),
                          "answer": {name: answer.get(name) for name in fields}, "fields": fields}
                deadline = RowDeadline(timeout_seconds)
                ROW_DEADLINE.set(deadline)
                result = await deadline.run(judge(inputs))
                return result.output
            except Exception as exc:  # noqa: BLE001 - a judge that cannot answer is no "right"
                return f"judge error: {describe_failure(exc, timeout_seconds).message}"

    return list(await asyncio.gather(*(one(row, answer) for row, answer in zip(sample.rows, answers))))


def score_judged(agent: str, judge: str, sample: GoldenSample, answers: list[dict[str, Any] | str],
                 judged: list[Any], fields: list[str], *, min_accuracy: float) -> GoldenReport:
    report_fields = []
    for name in fields:
        correct, mismatches = 0, []
        for number, (answer, said) in enumerate(zip(answers, judged), start=1):
            if isinstance(said, str):  # the agent's or the judge's error
                right, why = False, said
            else:
                given = verdict(said, name)
                right, why = given.right, f"judge: {given.said}"
            if right:
                correct += 1
            elif len(mismatches) < MAX_MISMATCHES:
                actual = format_cell(answer.get(name)) if isinstance(answer, dict) else answer
                mismatches.append(Mismatch(row=number, expected=why[:300], actual=actual[:300]))
        accuracy = correct / len(sample.rows)
        report_fields.append(FieldAccuracy(field=name, scored=len(sample.rows), correct=correct,
                                           accuracy=round(accuracy, 4), passed=accuracy >= min_accuracy,
                                           mismatches=mismatches))
    return GoldenReport(agent=agent, source=sample.source, rows=len(sample.rows),
                        rows_failed=sum(isinstance(answer, str) for answer in answers), agent_calls=len(sample.rows),
                        min_accuracy=min_accuracy, fields=report_fields, judge=judge,
                        judge_calls=sum(isinstance(answer, dict) for answer in answers))


async def evaluate_judged(spec: AgentSpec, call: AgentCall, judge_spec: AgentSpec, judge: AgentCall,
                          sample: GoldenSample, *, fields: list[str] | None = None,
                          min_accuracy: float = DEFAULT_MIN_ACCURACY, timeout_seconds: float = 60.0,
                          concurrency: int = 10) -> GoldenReport:
    """The agent answers ``sample``'s rows, the judge scores each answer: the per-field report."""
    fields = list(fields or judged_fields(spec, judge_spec))
    concurrency = max(1, concurrency)
    counted = EscalationCount(call)
    answers = await answer_sample(spec, counted, sample, timeout_seconds, concurrency)
    judged = await _judgements(judge, spec, sample, answers, fields, timeout_seconds, concurrency)
    report = score_judged(spec.name, judge_spec.name, sample, answers, judged, fields, min_accuracy=min_accuracy)
    return report.model_copy(update={"rows_escalated": counted.rows})
