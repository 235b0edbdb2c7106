"""The gate's per-field report: how many labelled rows each field got right, and the first few it got wrong."""

from __future__ import annotations

from pydantic import BaseModel, Field

MAX_MISMATCHES = 5


class Mismatch(BaseModel):
    row: int = Field(description="1-based row of the golden sample")
    expected: str
    actual: str = Field(description="The agent's value as the output CSV would show it, or its row error")


class FieldAccuracy(BaseModel):
    field: str
    scored: int = Field(description="Rows with a label for this field")
    correct: int
    accuracy: float = Field(description="correct / scored, 0..1 (1.0 when nothing was scored)")
    passed: bool
    mismatches: list[Mismatch] = Field(default_factory=list, description=f"The first {MAX_MISMATCHES}")


class GoldenReport(BaseModel):
    agent: str
    source: str
    rows: int
    rows_failed: int = Field(description="Rows the agent did not answer (they count as wrong in every field)")
    agent_calls: int
    min_accuracy: float
    fields: list[FieldAccuracy]
    judge: str | None = Field(None, description="The judge agent that scored the answers (no labels), if any")
    judge_calls: int = 0
    rows_escalated: int = Field(0, description="Rows the agent's cascade escalated (its rate for the estimate)")

    @property
    def escalation_rate(self) -> float:
        return self.rows_escalated / self.rows if self.rows else 0.0

    @property
    def passed(self) -> bool:
        return all(field.passed for field in self.fields)

    def failing_fields(self) -> list[str]:
        return [field.field for field in self.fields if not field.passed]


def report_text(report: GoldenReport) -> str:
    verdict = "PASSED" if report.passed else "FAILED"
    judged = f", {report.rows_escalated} escalated" if report.rows_escalated else ""
    judged += f", judged by {report.judge}" if report.judge else ""
    lines = [f"Golden sample {report.source}: {verdict} for {report.agent} (threshold {report.min_accuracy:.0%} "
             f"per field, {report.rows} rows, {report.rows_failed} failed{judged})"]
    width = max(len(field.field) for field in report.fields)
    for field in report.fields:
        mark = "ok  " if field.passed else "FAIL"
        lines.append(f"  {mark} {field.field:<{width}}  {field.accuracy:6.1%}  ({field.correct}/{field.scored})")
        lines += [f"         row {m.row}: expected {m.expected!r}, got {m.actual!r}" for m in field.mismatches]
    return "\n".join(lines)
