"""The progress line the chat orchestrator posts in the thread while a batch runs."""

from airflow_provider_batchorch.orchestrator.chat_agent import progress_text
from airflow_provider_batchorch.orchestrator.tool_models import ExecutionProgress


def _progress(**changes) -> ExecutionProgress:
    fields = dict(execution_arn="arn:aws:states:us-east-1:1:execution:p:e", status="RUNNING", done=False,
                  rows_processed=300, rows_succeeded=298, rows_failed=2, total_rows=603, percent_complete=49.75,
                  estimated_completion="2026-12-02T03:40:00Z", dag_run_state="running")
    return ExecutionProgress(**{**fields, **changes})


def test_mid_run_progress_names_the_eta_and_the_failures_so_far():
    assert progress_text(_progress()) == ("Progress: 300/603 rows processed (50%), estimated completion "
                                          "2026-12-02T03:40:00Z, 2 failed so far.")


def test_a_finished_batch_has_no_eta_and_an_unknown_total_is_a_question_mark():
    assert progress_text(_progress(done=True, rows_processed=603, percent_complete=100.0)) == (
        "Progress: 603/603 rows processed (100%), 2 failed so far.")
    assert progress_text(_progress(rows_processed=0, rows_failed=0, total_rows=None, percent_complete=0.0,
                                   estimated_completion=None)) == "Progress: 0/? rows processed (0%)."
