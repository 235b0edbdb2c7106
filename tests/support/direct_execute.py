"""``op.execute(context)`` outside a task run, on purpose: autouse fixtures a test folder's conftest.py (or a test
module) imports to turn Airflow's ExecutorSafeguard into test mode. Not a suite-wide plugin: only the Airflow-level
tests take it."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture(autouse=True)
def quiet_direct_execute():
    """Operators are called with ``op.execute(context)`` in unit tests; that is on purpose."""
    from airflow.sdk.bases.operator import ExecutorSafeguard

    ExecutorSafeguard.test_mode = True
    yield


@pytest.fixture(autouse=True)
def quiet_direct_execute_if_airflow_loaded():
    """The same, for tests that import Airflow only sometimes; operators are called with ``op.execute(context)`` in unit tests; that is on purpose."""
    if "airflow.sdk.bases.operator" in sys.modules:
        from airflow.sdk.bases.operator import ExecutorSafeguard

        ExecutorSafeguard.test_mode = True
    yield
