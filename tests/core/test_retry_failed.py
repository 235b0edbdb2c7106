"""Selecting failed rows from an output CSV and merging retried rows back, without AWS."""

import csv
import io

import pytest

from airflow_provider_batchorch.core.retry_failed import (
    RetryInputError,
    merge_retried_rows,
    open_csv_text,
    select_failed_rows,
    undo_formula_neutralization,
)

META = "_status,_error_message,_error_code,_agent,_agent_version,_latency_ms,_processed_at"
PREVIOUS = (
    f"id,text,upper,length,{META}\n"
    "0,fine,FINE,4,SUCCEEDED,,,a,1,3,t\n"
    "1,'=flaky,,,FAILED,Agent raised LookupError,AGENT_ERROR,a,1,3,t\n"
    "2,\"multi\nline, quoted\",\"MULTI\nLINE, QUOTED\",18,SUCCEEDED,,,a,1,3,t\n"
    "3,'-x,,,SUCCEEDED,odd: an error without FAILED,X,a,1,3,t\n"
    "4,-5,-5,2,SUCCEEDED,,,a,1,3,t\n"
)
AGENT_FIELDS = ["upper", "length"]


def _select(previous: str = PREVIOUS, **kwargs):
    retry_input = io.StringIO()
    selection = select_failed_rows(io.StringIO(previous), retry_input, AGENT_FIELDS, **kwargs)
    return selection, retry_input.getvalue()


def test_failed_rows_become_an_input_of_original_columns_with_formulas_restored():
    selection, retry_input = _select()
    assert selection.failed_rows == [1, 3] and selection.total_rows == 5
    assert (selection.original_columns, selection.output_fields) == (["id", "text"], ["upper", "length"])
    assert retry_input == "id,text\n1,=flaky\n3,-x\n"


def test_a_run_without_neutralisation_keeps_cells_as_they_are():
    _, retry_input = _select(neutralized=False)
    assert retry_input == "id,text\n1,'=flaky\n3,'-x\n"


def test_a_subset_of_output_fields_is_recognised():
    previous = f"id,text,length,{META}\n0,a,1,FAILED,boom,E,a,1,3,t\n"
    selection, retry_input = _select(previous)
    assert selection.output_fields == ["length"] and retry_input == "id,text\n0,a\n"


@pytest.mark.parametrize("text, restored", [
    ("'=SUM(A1)", "=SUM(A1)"), ("'+1+1", "+1+1"), ("'@cmd", "@cmd"), ("'-x", "-x"),
    ("'-5", "'-5"),  # a plain number is never neutralised, so this apostrophe was the user's
    ("'quoted", "'quoted"), ("plain", "plain"), ("", ""),
])
def test_undo_formula_neutralization(text, restored):
    assert undo_formula_neutralization(text) == restored


def test_merge_replaces_failed_rows_in_order_under_the_same_header():
    selection, _ = _select()
    retried = (f"id,text,upper,length,{META}\n"
               "1,'=flaky,'=FLAKY,6,SUCCEEDED,,,a,1,9,u\n"
               "3,'-x,,,FAILED,still broken,E,a,1,9,u\n")
    merged = io.StringIO()
    outcome = merge_retried_rows(io.StringIO(PREVIOUS), io.StringIO(retried), selection, merged)
    rows = list(csv.reader(io.StringIO(merged.getvalue())))
    previous = list(csv.reader(io.StringIO(PREVIOUS)))
    assert rows[0] == previous[0] and len(rows) == 6
    assert rows[1] == previous[1] and rows[3] == previous[3] and rows[5] == previous[5]
    assert rows[2][:5] == ["1", "'=flaky", "'=FLAKY", "6", "SUCCEEDED"]
    assert rows[4][4:6] == ["FAILED", "still broken"]
    assert (outcome.retried, outcome.fixed, outcome.still_failed) == (2, 1, 1)
    assert (outcome.rows_succeeded, outcome.rows_failed, outcome.total_rows) == (4, 1, 5)


def test_merge_refuses_a_retry_output_with_missing_rows_or_columns():
    selection, _ = _select()
    one_row = f"id,text,upper,length,{META}\n1,=flaky,=FLAKY,6,SUCCEEDED,,,a,1,9,u\n"
    with pytest.raises(RetryInputError, match="fewer rows"):
        merge_retried_rows(io.StringIO(PREVIOUS), io.StringIO(one_row), selection, io.StringIO())
    with pytest.raises(RetryInputError, match="lacks the columns upper"):
        merge_retried_rows(io.StringIO(PREVIOUS), io.StringIO(f"id,text,length,{META}\n"), selection, io.StringIO())


def test_a_csv_that_is_not_a_batch_output_is_refused():
    with pytest.raises(RetryInputError, match="not a batch output"):
        _select("id,text\n1,a\n")
    with pytest.raises(RetryInputError, match="empty"):
        _select("")


def test_open_csv_text_reads_paths_and_bytes(tmp_path):
    path = tmp_path / "out.csv"
    path.write_bytes(b"\xef\xbb\xbfa,b\n1,2\n")
    for source in (path, str(path), path.read_bytes()):
        with open_csv_text(source) as stream:
            assert stream.read() == "a,b\n1,2\n"
