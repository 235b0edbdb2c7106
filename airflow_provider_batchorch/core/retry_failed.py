"""Reprocess the failed rows of a previous output CSV and merge the new results back in.

Three steps, each streaming (memory holds one row and the list of failed row numbers):

1. ``select_failed_rows(previous, retry_input, agent_output_fields)`` reads the previous output and writes a new
   input CSV holding only its failed rows (``_status == FAILED`` or a non-empty ``_error_message``), with only
   the ORIGINAL columns (the output minus the agent's output fields and ``METADATA_COLUMNS``), formula
   neutralisation undone so the agent sees the value the user gave.
2. The caller runs that CSV as an ordinary batch (same agent, same output fields).
3. ``merge_retried_rows(previous, retried, selection, merged)`` writes the complete output again: the previous
   rows in their order, each failed one replaced by its retried row, under the previous header.

A row that fails again keeps its new ``_error_message``: the merged file always says what the latest attempt did.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import TextIO

from pydantic import BaseModel, Field

from airflow_provider_batchorch.core.csv.output import FORMULA_PREFIXES, neutralize_formula
from airflow_provider_batchorch.core.errors import BatchorchError
from airflow_provider_batchorch.core.models import ERROR_COLUMN, METADATA_COLUMNS, ROW_FAILED, STATUS_COLUMN

CsvSource = str | Path | bytes


class RetryInputError(BatchorchError):
    code = "NOT_A_BATCH_OUTPUT"


class RetrySelection(BaseModel):
    """Which rows of the previous output are retried, and how its columns split."""

    header: list[str] = Field(description="The previous output's header, kept for the merged output")
    original_columns: list[str] = Field(description="The columns of the retry input (the user's own columns)")
    output_fields: list[str] = Field(description="The agent output fields the previous run wrote")
    failed_rows: list[int] = Field(description="0-based data row numbers of the retried rows, ascending")
    total_rows: int


class RetryOutcome(BaseModel):
    """What the merge produced. ``fixed`` rows failed before and succeeded now."""

    total_rows: int
    retried: int
    fixed: int
    still_failed: int
    rows_succeeded: int
    rows_failed: int
    output: str | None = Field(None, description="Where the merged output was written")

    @classmethod
    def nothing_failed(cls, total_rows: int, output: str) -> RetryOutcome:
        return cls(total_rows=total_rows, retried=0, fixed=0, still_failed=0, rows_succeeded=total_rows,
                   rows_failed=0, output=output)


def is_failed_row(row: dict[str, str]) -> bool:
    return row.get(STATUS_COLUMN) == ROW_FAILED or bool((row.get(ERROR_COLUMN) or "").strip())


def undo_formula_neutralization(text: str) -> str:
    """The inverse of ``neutralize_formula`` for a cell it changed: ``'=SUM(A1)`` -> ``=SUM(A1)``.

    A value that already started with an apostrophe and a formula character before the first run comes back
    without its apostrophe: the output cannot tell the two apart.
    """
    if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES) and neutralize_formula(text[1:]) == text:
        return text[1:]
    return text


def split_output_columns(header: list[str], agent_output_fields: Collection[str]) -> tuple[list[str], list[str]]:
    """``(original columns, output fields)`` of an output header: ``original..., outputs..., _status, ...``."""
    if STATUS_COLUMN not in header or header[header.index(STATUS_COLUMN):] != METADATA_COLUMNS:
        raise RetryInputError(
            f"the CSV has no {', '.join(METADATA_COLUMNS)} columns at its end, so it is not a batch output.",
            hint="Give the output CSV of a previous run (the file with _status and _error_message).",
        )
    first_output = metadata_start = header.index(STATUS_COLUMN)
    while first_output > 0 and header[first_output - 1] in agent_output_fields:
        first_output -= 1
    if first_output == 0:
        raise RetryInputError("every column before _status is an agent output field: no input columns are left.",
                              hint="Check that --agent names the agent that wrote this output.")
    return header[:first_output], header[first_output:metadata_start]


def select_failed_rows(
    previous: TextIO, retry_input: TextIO, agent_output_fields: Collection[str], *, neutralized: bool = True
) -> RetrySelection:
    """Write the failed rows' original columns to ``retry_input`` (a CSV with a header) and say which they were.

    :param neutralized: The previous run neutralised formula-looking cells (the default); undo it.
    """
    reader = csv.reader(previous)
    header = _read_header(reader)
    original, outputs = split_output_columns(header, agent_output_fields)
    status_at, error_at, width = header.index(STATUS_COLUMN), header.index(ERROR_COLUMN), len(original)
    writer = csv.writer(retry_input, lineterminator="\n")
    writer.writerow(original)
    failed: list[int] = []
    total = 0
    for total, row in enumerate(reader, start=1):
        if row[status_at] == ROW_FAILED or row[error_at].strip():
            failed.append(total - 1)
            cells = row[:width]
            writer.writerow([undo_formula_neutralization(cell) for cell in cells] if neutralized else cells)
    return RetrySelection(header=header, original_columns=original, output_fields=outputs, failed_rows=failed,
                          total_rows=total)


def merge_retried_rows(previous: TextIO, retried: TextIO, selection: RetrySelection, merged: TextIO) -> RetryOutcome:
    """Write the complete output: ``previous`` in order, its failed rows replaced by ``retried``'s, same header."""
    previous_rows, retried_rows = csv.reader(previous), csv.DictReader(retried)
    if _read_header(previous_rows) != selection.header:
        raise RetryInputError("the previous output changed since its failed rows were selected.",
                              hint="Select the failed rows again.")
    missing = [column for column in selection.header if column not in (retried_rows.fieldnames or [])]
    if missing:
        raise RetryInputError(f"the retry output lacks the columns {', '.join(missing)}.",
                              hint="Retry with the same agent and output fields as the previous run.")
    writer = csv.writer(merged, lineterminator="\n")
    writer.writerow(selection.header)
    status_at = selection.header.index(STATUS_COLUMN)
    replacements = ([row[column] for column in selection.header] for row in retried_rows)
    failed = set(selection.failed_rows)
    rows = failed_now = fixed = 0
    for index, row in enumerate(previous_rows):
        if index in failed:
            row = next(replacements, None)
            if row is None:
                raise _mismatch("the retry output has fewer rows than were retried")
            fixed += row[status_at] != ROW_FAILED
        rows += 1
        failed_now += row[status_at] == ROW_FAILED
        writer.writerow(row)
    if rows != selection.total_rows:
        raise _mismatch(f"the previous output has {rows} rows, {selection.total_rows} when they were selected")
    if next(replacements, None) is not None:
        raise _mismatch("the retry output has more rows than were retried")
    retried = len(selection.failed_rows)
    return RetryOutcome(total_rows=rows, retried=retried, fixed=fixed, still_failed=retried - fixed,
                        rows_succeeded=rows - failed_now, rows_failed=failed_now)


def _mismatch(message: str) -> RetryInputError:
    return RetryInputError(f"{message}.", hint="Select the failed rows again and rerun them.")


def _read_header(reader) -> list[str]:
    header = next(reader, None)
    if not header:
        raise RetryInputError("the output CSV is empty.", hint="Give the output CSV of a previous run.")
    return header


@contextlib.contextmanager
def open_csv_text(source: CsvSource) -> Iterator[TextIO]:
    """A local path or the bytes of a CSV as a text stream (UTF-8, a BOM skipped)."""
    if isinstance(source, bytes):
        yield io.TextIOWrapper(io.BytesIO(source), encoding="utf-8-sig", newline="")
        return
    with open(source, encoding="utf-8-sig", newline="") as stream:
        yield stream
