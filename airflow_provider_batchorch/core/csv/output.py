"""Output CSV cells: how agent values become text, how formula-looking cells are neutralised, and how rows are
written so that every cell reads back exactly as it was (docs/output_format.md).

A cell that starts with ``= + - @`` (or a tab / carriage return) runs as a formula when the CSV is opened in a
spreadsheet (CSV injection). Such a cell gets a leading apostrophe, the OWASP-recommended neutraliser, unless it
is a plain number like ``-5`` or ``+3.2``, which spreadsheets read as a number and which must stay intact.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any, Iterable, Sequence

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralize_formula(text: str) -> str:
    if text.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def format_cell(value: Any) -> str:
    """Agent output value -> CSV text: nested values as compact JSON, booleans lowercase, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def csv_bytes(rows: Iterable[Sequence[str]], *, neutralize: bool) -> bytes:
    """Rows as UTF-8 CSV, records ending in ``\n``, cells quoted when they need it (RFC 4180 doubling of quotes).

    Python's writer quotes a cell holding a delimiter, a quote or ``\n``, but not one holding a lone ``\r``
    (only the characters of its line terminator count): written bare, every reader splits the record there. A row
    with a ``\r`` in any cell is therefore written with every cell quoted; the other rows stay minimally quoted.
    """
    if neutralize:
        rows = [[neutralize_formula(cell) for cell in row] for row in rows]
    elif not isinstance(rows, list):
        rows = list(rows)
    text = _write(rows, csv.QUOTE_MINIMAL)
    if "\r" in text:  # rare: rewrite, quoting every cell of the rows that hold a carriage return
        buffer = io.StringIO()
        minimal = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        quoted = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
        for row in rows:
            (quoted if any("\r" in cell for cell in row) else minimal).writerow(row)
        text = buffer.getvalue()
    return text.encode("utf-8")


def _write(rows: Iterable[Sequence[str]], quoting: int) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n", quoting=quoting).writerows(rows)
    return buffer.getvalue()
