"""Output CSV cells: how agent values become text, and how formula-looking cells are neutralised.

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
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if neutralize:
        rows = ([neutralize_formula(cell) for cell in row] for row in rows)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")
