"""Property: whatever the cells hold (CR, LF, CRLF, quotes, NUL, formulas, leading spaces), the output CSV reads
back with the same rows and the same cells; with neutralisation on, only formula cells change, by one apostrophe."""

import csv
import io

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_batchorch.core.csv.chunk_reader import STDLIB_MAX_BYTES, read_chunk_rows
from airflow_provider_batchorch.core.csv.output import FORMULA_PREFIXES, csv_bytes, neutralize_formula

TRICKY = ["\r", "\n", "\r\n", '"', ",", "\x00", " ", "'", "=", "+", "-", "@", "\t", ";"]
cells = st.one_of(
    st.lists(st.sampled_from(TRICKY + ["a", "1", "é", "日"]), max_size=10).map("".join),
    st.sampled_from(["a\rb", "\r", "\r=1", "=HYPERLINK(\"http://x\")", "@cmd", "-5", "+3.2", "  lead", '""', ""]),
)
tables = st.integers(min_value=2, max_value=6).flatmap(
    lambda width: st.lists(st.lists(cells, min_size=width, max_size=width), min_size=1, max_size=8)
)
PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _with_csv_module(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def _with_pandas(data: bytes) -> list[list[str]]:
    frame = pd.read_csv(io.BytesIO(data), header=None, dtype=str, keep_default_na=False, na_filter=False)
    return frame.values.tolist()


@PROPERTY_SETTINGS
@given(tables)
def test_cells_come_back_identical_without_neutralisation(rows):
    data = csv_bytes(rows, neutralize=False)
    assert _with_csv_module(data) == rows
    assert _with_pandas(data) == rows


@PROPERTY_SETTINGS
@given(tables)
def test_with_neutralisation_only_formula_cells_change(rows):
    data = csv_bytes(rows, neutralize=True)
    for parsed in (_with_csv_module(data), _with_pandas(data)):
        assert len(parsed) == len(rows)
        for got_row, row in zip(parsed, rows):
            assert len(got_row) == len(row)
            for got, cell in zip(got_row, row):
                assert got == neutralize_formula(cell)
                assert got == cell or (got == "'" + cell and cell.startswith(FORMULA_PREFIXES))


@PROPERTY_SETTINGS
@given(tables, st.booleans())
def test_the_worker_reads_back_what_the_writer_wrote(rows, large):
    """csv_bytes -> read_chunk_rows (the stdlib path, and pyarrow's for a chunk over STDLIB_MAX_BYTES)."""
    width = len(rows[0])
    filler = [["x" * 100] * width] * (STDLIB_MAX_BYTES // 100 + 1) if large else []
    columns = [f"c{i}" for i in range(width)]
    parsed = read_chunk_rows(csv_bytes(rows + filler, neutralize=False), columns=columns)
    assert [[record[c] for c in columns] for record in parsed] == rows + filler
