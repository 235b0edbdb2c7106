"""One real Airflow for the suite: a throwaway Postgres, its own embedded AWS (moto + processor; workers started
by the tests, see ``workers``), an AIRFLOW_HOME, ``airflow db migrate``, and the four components as processes.

The suite skips, saying why, when PostgreSQL cannot be installed here (scripts/install_postgres.sh).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from airflow_provider_batchorch.core.registry_trust import REGISTRY_FILES_ENV
from tests.support import slow_agent
from tests.support.openai_stub_server import OpenAIStubServer
from tests.support.scripted_tool_model import ToolScript
from tests.support.slack_fixtures import SIGNING_SECRET
from tests.support.slack_stand_in import TOKEN
from tests.real_airflow.airflow_cluster import AirflowCluster
from tests.real_airflow.postgres import PostgresUnavailable, ThrowawayPostgres, ensure_installed

ROOT = Path(__file__).resolve().parents[2]
INCOMING_QUEUE = "batchorch-incoming-csv"
DEADLINE_CHANNEL = "C_DEADLINES"


@pytest.fixture(scope="session")
def postgres():
    try:
        server = ThrowawayPostgres(ensure_installed()).start()
    except PostgresUnavailable as exc:
        pytest.skip(f"real-Airflow tests need PostgreSQL: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def real_aws(tmp_path_factory):
    """An emulator of the suite's own, so a test decides when workers start (and whether the batch is held)."""
    from airflow_provider_batchorch.local.emulator import EmbeddedAws

    with EmbeddedAws(log_dir=tmp_path_factory.mktemp("real-airflow-aws")) as aws:
        yield aws


@pytest.fixture
def workers(real_aws):
    """Start the two local workers (once per session); returns a function that does it and waits for them."""
    def start() -> None:
        if not real_aws.workers:
            started = real_aws.start_workers(2, env={"PYTHONPATH": str(ROOT)})  # slow_agent is imported by path
            real_aws.wait_for_workers(started)

    return start


@pytest.fixture(scope="session")
def slow_registry(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("registry") / "slow_registry.yaml"
    path.write_text(slow_agent.REGISTRY_YAML)
    return path


@pytest.fixture(scope="session")
def chat_model():
    """The chat orchestrator's model for the whole cluster: a ToolScript behind an OpenAI-compatible server in this
    process (the cluster's ``pydanticai_default``); a test adds its turns' steps."""
    script = ToolScript()
    with OpenAIStubServer(script) as server:
        yield script, server


@pytest.fixture(scope="session")
def airflow_cluster(postgres, real_aws, slow_registry, slack, chat_model):
    home = Path(tempfile.mkdtemp(prefix="batchorch-real-airflow-"))
    cluster = AirflowCluster(home, postgres.url, {
        **real_aws.environment(),  # aws_default -> moto (AIRFLOW_CONN_AWS_DEFAULT), as the embedded harness does
        REGISTRY_FILES_ENV: str(slow_registry),  # a configured (trusted) registry: the slow python agent
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        # batch_enrichment_on_new_csv's AssetWatcher polls this queue (tests/real_airflow/test_new_csv_runs.py)
        "BATCHORCH_INCOMING_QUEUE_URL": real_aws.client("sqs").create_queue(QueueName=INCOMING_QUEUE)["QueueUrl"],
        # ... and batch_enrichment_of_csv's runs get a deadline of 3 s, told to the Slack stand-in
        "BATCHORCH_RECURRING_DEADLINE_MINUTES": "0.05", "BATCHORCH_DEADLINE_SLACK_CHANNEL": DEADLINE_CHANNEL,
        "AIRFLOW_CONN_SLACK_API_DEFAULT": json.dumps({"conn_type": "slack", "password": TOKEN,
                                                      "extra": {"base_url": slack.api_url}}),
        # chat_command: the orchestrator agent on the scripted model, requests and conversations in the bucket,
        # the plugin's Slack routes verify this secret (tests/real_airflow/test_chat_across_restarts.py)
        "AIRFLOW_CONN_PYDANTICAI_DEFAULT": json.dumps({"conn_type": "pydanticai", "host": chat_model[1].base_url,
                                                       "extra": {"model": "scripted-orchestrator"}}),
        "BATCHORCH_CHAT_ALLOWED_BUCKETS": real_aws.bucket, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    })
    try:
        cluster.migrate()
        cluster.start_all()
        yield cluster
    finally:
        cluster.stop_all()
        if os.environ.get("BATCHORCH_KEEP_REAL_AIRFLOW_HOME"):
            print(f"real-Airflow home kept: {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
