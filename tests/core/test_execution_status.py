"""One execution-status type: the states an execution ends in, and which of them are failures."""

import pytest

from airflow_provider_batchorch.core.execution_status import FAILED, FINAL, RUNNING, SUCCEEDED, is_final


def test_final_states_are_success_and_the_failures():
    assert FAILED == {"FAILED", "TIMED_OUT", "ABORTED"}
    assert FINAL == FAILED | {SUCCEEDED} and RUNNING not in FINAL


@pytest.mark.parametrize("status, final", [("RUNNING", False), ("SUCCEEDED", True), ("FAILED", True),
                                           ("TIMED_OUT", True), ("ABORTED", True)])
def test_is_final(status, final):
    assert is_final(status) is final
