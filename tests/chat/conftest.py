"""Chat tests: a local Slack stand-in, and for the Airflow ones the adapter tests' throwaway Airflow (temp home,
SQLite, the package's dags folder), embedded AWS and workers (tests/airflow/conftest.py), plus a real API server
on 127.0.0.1 that serves the REST API and the Slack plugin.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time

import pytest

from airflow_provider_batchorch.local_airflow import configure_environment
from tests.chat.slack_stand_in import TOKEN, SlackStandIn

# The adapter tests' throwaway Airflow when they run in the same session (tests/airflow/conftest.py), else ours.
if "batchorch-test-airflow-" not in os.environ.get("AIRFLOW_HOME", ""):
    AIRFLOW_HOME = configure_environment(tempfile.mkdtemp(prefix="batchorch-test-airflow-"))
    atexit.register(shutil.rmtree, AIRFLOW_HOME, ignore_errors=True)

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


@pytest.fixture(scope="session")
def airflow_db():
    """The metadata DB, migrated (once per session and conftest)."""
    from airflow_provider_batchorch.local_airflow import migrate_database

    migrate_database()


@pytest.fixture(scope="session")
def chat_aws(tmp_path_factory):
    """A moto server with the processor deployed and two local workers."""
    from airflow_provider_batchorch.aws.embedded import EmbeddedAws

    with EmbeddedAws(log_dir=tmp_path_factory.mktemp("embedded-chat")) as aws:
        aws.start_workers(2)
        yield aws


@pytest.fixture
def aws_conn(chat_aws, monkeypatch):
    """``aws_default`` (and plain boto3) pointed at the moto server."""
    for key, value in chat_aws.environment().items():
        monkeypatch.setenv(key, value)
    return chat_aws


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
