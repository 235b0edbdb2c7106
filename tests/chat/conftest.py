"""Chat tests: a local Slack stand-in, and for the Airflow ones the adapter tests' throwaway Airflow (temp home,
SQLite, the package's dags folder), embedded AWS and workers (tests/airflow/conftest.py), plus a real API server
on 127.0.0.1 that serves the REST API and the Slack plugin.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(app, port: int | None = None):
    """Serve an ASGI app with uvicorn on 127.0.0.1 in a thread; yields its base URL."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(autouse=True)
def _quiet_direct_execute():
    """Operators are called with ``op.execute(context)`` in unit tests; that is on purpose."""
    if "airflow.sdk.bases.operator" in sys.modules:
        from airflow.sdk.bases.operator import ExecutorSafeguard

        ExecutorSafeguard.test_mode = True
    yield
