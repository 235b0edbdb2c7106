"""Shared by every test level: no real AWS, one throwaway Airflow, one embedded AWS with workers per session.

Airflow reads its configuration when first imported, so its environment (temp AIRFLOW_HOME, the package's dags
folder, SQLite) is set when pytest loads this file, before any test module imports ``airflow``.
"""

import atexit
import os
import shutil
import tempfile

import pytest

from airflow_provider_batchorch.local.airflow_home import configure_environment

# Fixtures shared across test folders (pytest takes pytest_plugins only in the top conftest).
pytest_plugins = ["tests.support.airflow_fixtures", "tests.support.slack_fixtures", "tests.support.dashboard_fixtures"]

# Tests never talk to real AWS.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

AIRFLOW_HOME = configure_environment(tempfile.mkdtemp(prefix="batchorch-test-airflow-"))
atexit.register(shutil.rmtree, AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_db():
    """The metadata DB, migrated once (about 2-3 s on SQLite)."""
    from airflow_provider_batchorch.local.airflow_home import migrate_database

    migrate_database()
    return AIRFLOW_HOME


@pytest.fixture(scope="session")
def embedded_aws(tmp_path_factory):
    """A moto server (Step Functions interpreter on) with the processor deployed; no workers yet."""
    from airflow_provider_batchorch.local.emulator import EmbeddedAws

    with EmbeddedAws(log_dir=tmp_path_factory.mktemp("embedded")) as aws:
        yield aws


@pytest.fixture(scope="session")
def aws_with_workers(embedded_aws):
    """The session's moto server with two local `batchorch worker` processes polling its queue."""
    embedded_aws.start_workers(2)
    yield embedded_aws


@pytest.fixture
def aws_conn(aws_with_workers, monkeypatch):
    """``aws_default`` (and plain boto3) pointed at the session's moto server."""
    for key, value in aws_with_workers.environment().items():
        monkeypatch.setenv(key, value)
    return aws_with_workers
