"""The states of a Step Functions execution (a batch's Distributed Map, or a stepfunctions agent's), in one place.

``RUNNING`` until it ends ``SUCCEEDED`` or in one of the ``FAILED`` states; ``FINAL`` holds every state it ends in.
"""

from __future__ import annotations

from typing import Literal, get_args

ExecutionStatus = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]

RUNNING: ExecutionStatus = "RUNNING"
SUCCEEDED: ExecutionStatus = "SUCCEEDED"
FAILED: frozenset[str] = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
FINAL: frozenset[str] = frozenset(get_args(ExecutionStatus)) - {RUNNING}


def is_final(status: str) -> bool:
    """The execution has ended (succeeded or failed): no poll will see it change again."""
    return status in FINAL
