import csv
import io

import pytest

from airflow_provider_batchorch.core.csv.output import csv_bytes, format_cell, neutralize_formula


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("=SUM(A1:A2)", "'=SUM(A1:A2)"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("@SUM(1)", "'@SUM(1)"),
        ("-2+3", "'-2+3"),
        ("\t=1", "'\t=1"),
        ("-5", "-5"),
        ("+3.25", "+3.25"),
        ("-1e5", "-1e5"),
        ("Acme, Inc.", "Acme, Inc."),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_formula_cells_are_neutralised_and_numbers_kept(cell, expected):
    assert neutralize_formula(cell) == expected


@pytest.mark.parametrize(
    "value, expected",
    [(None, ""), (True, "true"), (False, "false"), (42, "42"), (0.5, "0.5"), (["a", "b"], '["a","b"]'),
     ({"k": "ü"}, '{"k":"ü"}'), ("text", "text")],
)
def test_format_cell(value, expected):
    assert format_cell(value) == expected


def test_csv_bytes_round_trips_quotes_newlines_and_unicode():
    rows = [["a,b", 'say "hi"', "line1\nline2", "日本 ü 🚀", "=1+1"]]
    text = csv_bytes(rows, neutralize=True).decode("utf-8")
    assert list(csv.reader(io.StringIO(text))) == [["a,b", 'say "hi"', "line1\nline2", "日本 ü 🚀", "'=1+1"]]
    raw = csv_bytes(rows, neutralize=False).decode("utf-8")
    assert list(csv.reader(io.StringIO(raw)))[0][4] == "=1+1"
