"""A recurring enrichment asked for in Slack: "every weekday at 6:00 ..." becomes a managed schedule (cron, the
policy-checked request, its owner) that the DAG factory turns into a DAG; it is listed and removed from chat, only
by its owner (or an admin). Signed requests to the plugin's app, replies over HTTP to the Slack stand-in, the
schedules table in moto's DynamoDB, the offline request parser under a chat policy."""

from __future__ import annotations

import boto3
import pytest
from fastapi.testclient import TestClient
from moto import mock_aws

from airflow_provider_batchorch.aws.schedule_records import ScheduleStore
from airflow_provider_batchorch.builtin_agents import builtin_registry
from airflow_provider_batchorch.core.chat.request_parser import parse_request
from airflow_provider_batchorch.core.chat.request_policy import RequestPolicy
from airflow_provider_batchorch.plugins.chat_schedules import ChatSchedules
from airflow_provider_batchorch.plugins.slack import COMMANDS_PATH, SlackCommandSettings, create_slack_app
from tests.plugins.test_slack import SIGNING_SECRET, signed, slash
from tests.support.direct_execute import quiet_direct_execute_if_airflow_loaded  # noqa: F401  (autouse)

POLICY = RequestPolicy(allowed_buckets=["my-data"], max_concurrency=20)
REQUEST = "every weekday at 6:00 enrich s3://my-data/companies.csv with industry, 5 parallel workers"


@pytest.fixture
def store():
    with mock_aws():
        yield ScheduleStore(boto3.client("dynamodb", region_name="us-east-1"), "batchorch-schedules").ensure()


@pytest.fixture
def ask(store, slack, airflow):
    """Send one signed slash command (default: U1 in T1, C1); the one answer on its response_url."""
    schedules = ChatSchedules(lambda: store, lambda text: parse_request(text, builtin_registry(), POLICY))
    config = SlackCommandSettings(signing_secret=SIGNING_SECRET, admin_user_ids=frozenset({"UADMIN"}))
    client = TestClient(create_slack_app(settings=lambda: config, schedules=lambda current: schedules,
                                         follow_ups=lambda current: None))

    def send(text: str, *, body: bytes | None = None, headers: dict | None = None, **fields) -> str | None:
        slack.clear()
        body = body or slash(text, slack, **fields)
        assert client.post(COMMANDS_PATH, content=body, headers=headers or signed(body)).status_code == 200
        replies = slack.of("response_url")
        assert len(replies) <= 1
        return replies[0].text if replies else None

    return send


def test_a_chat_schedule_is_created_listed_and_removed_by_its_owner(ask, store):
    created = ask(REQUEST)

    (schedule,) = store.list()
    assert created.startswith(f"Scheduled `{schedule.schedule_id}`") and "0 6 * * 1-5" in created
    assert (schedule.cron, schedule.phrase) == ("0 6 * * 1-5", "every weekday at 6:00")
    assert schedule.request["csv_uri"] == "s3://my-data/companies.csv" and schedule.request["concurrency"] == 5
    assert (schedule.owner.user_id, schedule.owner.team_id) == ("U1", "T1")  # from the signed request

    listed = ask("schedules")
    assert schedule.schedule_id in listed and "every weekday at 6:00" in listed
    assert ask("schedules", user_id="U2") .startswith("You have no schedules")
    assert "is not yours" in ask(f"unschedule {schedule.schedule_id}", user_id="U2")
    assert "is not yours" in ask(f"unschedule {schedule.schedule_id}", team_id="T2")
    assert store.get(schedule.schedule_id) is not None

    assert ask(f"unschedule {schedule.schedule_id}").startswith(f"Removed schedule `{schedule.schedule_id}`")
    assert store.list() == [] and ask("schedules").startswith("You have no schedules")


def test_the_factory_makes_one_dag_per_stored_schedule(ask, store):
    from airflow_provider_batchorch.dag_builders.managed_schedules import build_managed_schedule_dags

    ask(REQUEST)
    ask("every monday and thursday at 18:30 enrich s3://my-data/tickets.csv classify the tickets", user_id="U2")
    dags = build_managed_schedule_dags(store.list())
    assert sorted(dag.schedule for dag in dags.values()) == ["0 6 * * 1-5", "30 18 * * 1,4"]
    first = next(dag for dag in dags.values() if dag.schedule == "0 6 * * 1-5")
    assert first.dag_id.startswith("batch_schedule_sched_") and first.max_active_runs == 1
    assert first.params["csv_uri"] == "s3://my-data/companies.csv" and first.params["concurrency"] == 5
    first.params.validate()  # its scheduled runs need no conf


def test_a_replayed_request_creates_one_schedule_and_an_admin_may_remove_any(ask, store, slack):
    body = slash(REQUEST, slack)
    headers = signed(body)
    assert ask("", body=body, headers=headers).startswith("Scheduled")
    assert ask("", body=body, headers=headers) is None  # the same signed request again: nothing, no answer
    (schedule,) = store.list()
    assert schedule.schedule_id in ask("schedules", user_id="UADMIN")
    assert ask(f"unschedule {schedule.schedule_id}", user_id="UADMIN").startswith("Removed")


@pytest.mark.parametrize("text, reply", [
    ("every day at 25:00 enrich s3://my-data/companies.csv", "INVALID_SCHEDULE"),
    ("every weekday at 6:00 enrich s3://other-bucket/companies.csv", "Before I schedule it"),
])
def test_a_bad_time_or_a_policy_refusal_stores_nothing(ask, store, text, reply):
    assert reply in ask(text)
    assert store.list() == []


def test_the_cli_lists_and_removes_any_schedule(ask, store, capsys):
    from airflow_provider_batchorch.cli.command import main

    ask(REQUEST)
    (schedule,) = store.list()
    assert main(["schedules", "list", "--table", store.table]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{schedule.schedule_id}  0 6 * * 1-5  s3://my-data/companies.csv") and "T1/U1" in line
    assert main(["schedules", "remove", schedule.schedule_id, "--table", store.table]) == 0
    assert store.list() == []
    assert main(["schedules", "remove", schedule.schedule_id, "--table", store.table]) == 2  # gone: one line
    assert "INVALID_CONF: there is no schedule" in capsys.readouterr().err
