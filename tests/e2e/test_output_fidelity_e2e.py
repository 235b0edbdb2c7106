"""Nothing lost on the way through the batch: lone carriage returns, CRLF, quotes, NUL and leading spaces in
quoted cells, and input columns named like an output field or a metadata column, on the moto-server batch."""

import csv
import io

import pandas as pd

from airflow_provider_batchorch.aws.batch_store import get_bytes
from airflow_provider_batchorch.core.models import METADATA_COLUMNS
from tests.e2e.test_processor_e2e import _run
from tests.support import agents

HEADER = ["text", "upper", "_status", "_error_message", "note"]
CELLS = [
    ["a\rb", "x", "keep", "", 'say "hi"'],
    ["\r", "y", "", "old error", "  leading spaces"],
    ["\r=1", "z", "FAILED", "e", "crlf\r\ninside"],
    ["plain", "\x00nul", "s", "", "lf\ninside"],
    ["=1+1", "", "", "", "trailing\r"],
]


def _csv(rows):
    return "".join(",".join('"' + cell.replace('"', '""') + '"' for cell in row) + "\n" for row in rows)


def test_every_cell_comes_back_identical_and_the_header_has_no_duplicates(aws_with_workers):
    config, summary, _ = _run(aws_with_workers, _csv([HEADER, *CELLS]), agents.spec("echo"), chunk_rows=2,
                              neutralize_formulas=False)
    output = get_bytes(aws_with_workers.client("s3"), summary.output_csv_uri)

    records = list(csv.reader(io.StringIO(output.decode("utf-8"), newline="")))
    header, rows = records[0], records[1:]
    assert header == ["text", "upper", "in__status", "in__error_message", "note", "out_upper", "length",
                      *METADATA_COLUMNS]
    assert len(set(header)) == len(header)
    assert len(rows) == len(CELLS) == summary.rows_processed
    assert [row[: len(HEADER)] for row in rows] == CELLS
    status = header.index("_status")
    # A text that is only whitespace ("\r") is a missing required input: that row fails, on its own.
    assert [row[status] for row in rows] == ["SUCCEEDED", "FAILED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]
    # The agent gets its inputs trimmed ("\r=1" -> "=1"); the input cells above come back untouched.
    assert [row[5] for row in rows] == ["A\rB", "", "=1", "PLAIN", "=1+1"]

    frame = pd.read_csv(io.BytesIO(output), dtype=str, keep_default_na=False, na_filter=False)
    assert list(frame.columns) == header
    assert frame[HEADER[:2] + ["in__status", "in__error_message", "note"]].values.tolist() == CELLS
