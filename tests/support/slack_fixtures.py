"""Fixtures of the chat tests, registered for the whole suite by tests/conftest.py: a local Slack stand-in, the
stand-in for Airflow's REST API, and a finished chat run whose summary is in (moto's) S3.
"""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from airflow_provider_batchorch.aws.batch_store import save_summary
from tests.support.fake_airflow_api import FakeAirflowApi
from tests.support.slack_stand_in import TOKEN, SlackStandIn
from tests.notifications.test_slack import SUMMARY


SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
PREFIX = "s3://my-data/batchorch/runs/chat_command-slack-0612-1/"


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


@pytest.fixture
def airflow():
    """The stand-in for Airflow's REST API (runs, task instances, XComs) the Slack plugin talks to."""
    return FakeAirflowApi()


@pytest.fixture
def finished_run(airflow):
    """A finished chat run of Slack user U1 in workspace T1, channel C1, whose results step stored summary.json
    next to its batch (in moto's S3). Yields a SigV4 S3 client, as the plugin's (``BatchorchHook.s3_links``)."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1", config=Config(signature_version="s3v4"))
        s3.create_bucket(Bucket="my-data")
        config = type("Config", (), {"prefix_uri": PREFIX})
        save_summary(s3, config, SUMMARY)
        airflow.runs["slack-0612-1"] = {"dag_run_id": "slack-0612-1", "state": "success",
                                        "conf": {"user_id": "U1", "team_id": "T1", "channel_id": "C1",
                                                 "text": "enrich ..."}}
        airflow.xcoms[("slack-0612-1", "analyze_csv")] = {"prefix_uri": PREFIX, "batch_id": "b1"}
        yield s3
