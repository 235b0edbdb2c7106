"""Operators are executed directly in these tests (see tests/support/direct_execute.py)."""

from tests.support.direct_execute import quiet_direct_execute  # noqa: F401  (autouse)
