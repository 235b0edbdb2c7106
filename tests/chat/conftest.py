"""Chat tests: a local Slack stand-in, and for the Airflow ones the adapter tests' throwaway Airflow (temp home,
SQLite, the package's dags folder), embedded AWS and workers (tests/airflow/conftest.py), plus a real API server
on 127.0.0.1 that serves the REST API and the Slack plugin.
"""

from __future__ import annotations

import json
import sys

import pytest

from tests.chat.slack_stand_in import TOKEN, SlackStandIn


SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture(scope="session")
def slack():
    stand_in = SlackStandIn()
    yield stand_in
    stand_in.close()


@pytest.fixture
def slack_conn(slack, monkeypatch):
    """``slack_api_default`` pointed at the stand-in; the stand-in's record starts empty."""
    slack.clear()
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_API_DEFAULT", json.dumps(
        {"conn_type": "slack", "password": TOKEN, "extra": {"base_url": slack.api_url}}))
    return slack


@pytest.fixture(autouse=True)
def _quiet_direct_execute():
    """Operators are called with ``op.execute(context)`` in unit tests; that is on purpose."""
    if "airflow.sdk.bases.operator" in sys.modules:
        from airflow.sdk.bases.operator import ExecutorSafeguard

        ExecutorSafeguard.test_mode = True
    yield
