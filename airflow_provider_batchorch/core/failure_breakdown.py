"""Why rows failed, read from a batch's output CSV: the failed rows grouped by error code and message.

    breakdown = failure_breakdown(text_stream)   # the output CSV as text
    breakdown.groups[0].rows, breakdown.groups[0].reason, breakdown.groups[0].suggestion

A row failed when ``_status`` is FAILED or ``_error_message`` is not empty (``core.retry_failed.is_failed_row``).
Cell text is data: it is counted and quoted, never interpreted.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

from pydantic import BaseModel, Field

from airflow_provider_batchorch.core.models import ERROR_COLUMN
from airflow_provider_batchorch.core.retry_failed import is_failed_row

ERROR_CODE_COLUMN = "_error_code"
EXAMPLE_ROWS = 5
TOP_GROUPS = 20

# What to do about each kind of row failure (``core.errors`` codes); anything else: look at the rows, retry.
SUGGESTIONS = {
    "AGENT_TIMEOUT": "The agent did not answer in time: run again with a larger timeout_seconds, or retry the "
                     "failed rows when the service is less busy.",
    "AGENT_CRASHED": "The agent crashed on these rows: look at their input values, fix the agent, then retry "
                     "the failed rows.",
    "SCHEMA_VIOLATION": "The agent's answer did not match its output schema: check the agent's prompt or model, "
                        "then retry the failed rows.",
    "INVALID_JSON": "The agent's answer was not JSON: check the agent's prompt or model, then retry the failed rows.",
}
DEFAULT_SUGGESTION = ("Review these rows' input values in the output CSV (_error_message says why), fix them or "
                      "the mapping, then reprocess only the failed rows.")


class FailureGroup(BaseModel):
    reason: str = Field(description="The _error_message shared by these rows")
    code: str = Field("", description="The _error_code shared by these rows")
    rows: int = Field(description="How many rows failed this way")
    example_rows: list[int] = Field(default_factory=list, description="1-based data row numbers, first few")
    suggestion: str


class FailureBreakdown(BaseModel):
    total_rows: int
    rows_failed: int
    groups: list[FailureGroup] = Field(default_factory=list, description="Most frequent first")


def failure_breakdown(output_csv: TextIO | Iterable[str], *, top: int = TOP_GROUPS) -> FailureBreakdown:
    groups: dict[tuple[str, str], FailureGroup] = {}
    total = failed = 0
    for total, row in enumerate(csv.DictReader(output_csv), start=1):
        if not is_failed_row(row):
            continue
        failed += 1
        code = (row.get(ERROR_CODE_COLUMN) or "").strip()
        reason = (row.get(ERROR_COLUMN) or "").strip() or "(no message)"
        group = groups.get((code, reason))
        if group is None:
            group = groups[(code, reason)] = FailureGroup(
                reason=reason, code=code, rows=0, suggestion=SUGGESTIONS.get(code, DEFAULT_SUGGESTION))
        group.rows += 1
        if len(group.example_rows) < EXAMPLE_ROWS:
            group.example_rows.append(total)
    ranked = sorted(groups.values(), key=lambda g: (-g.rows, g.reason))
    return FailureBreakdown(total_rows=total, rows_failed=failed, groups=ranked[:top])
