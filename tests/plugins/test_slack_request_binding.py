"""A Slack request is bound to who sent it: follow-ups act only on the asker's own runs (or an admin's), a replayed
signed request starts one run, and download links live minutes. Signed requests to the plugin's app; replies over
HTTP to the Slack stand-in; Airflow's REST API as the in-memory stand-in (409 on a run id it already has)."""

from __future__ import annotations

import threading
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from airflow_provider_batchorch.plugins.slack import COMMANDS_PATH, SlackCommandSettings, create_slack_app
from tests.support.slack_fixtures import PREFIX
from tests.notifications.test_slack import SUMMARY
from tests.plugins.test_slack import app_for, signed, slash, wait_for
from tests.support.asgi_server import serve
from tests.support.direct_execute import quiet_direct_execute_if_airflow_loaded  # noqa: F401  (autouse)

OTHER_USER = {"user_id": "U2", "user_name": "mallory", "channel_id": "C2"}


@pytest.fixture
def client(airflow):
    return TestClient(app_for(airflow))


def ask(airflow, slack, s3, text: str, *, settings: dict | None = None, **fields) -> str:
    """One signed slash command from ``fields`` (default: U1 in T1, C1); the one answer on its response_url."""
    slack.clear()
    client = TestClient(app_for(airflow, s3=lambda: s3, **(settings or {})))
    body = slash(text, slack, **fields)
    assert client.post(COMMANDS_PATH, content=body, headers=signed(body)).status_code == 200
    (reply,) = slack.of("response_url")
    assert reply.body["response_type"] == "ephemeral"
    return reply.text


def run_was_read(airflow, run_id: str) -> bool:
    """Whether the plugin looked past the run itself (its XComs, task instances: the way to its results)."""
    return any(f"/dagRuns/{run_id}/" in r.url.path for r in airflow.requests)


def link_in(text: str) -> str:
    """The first link in a Slack ``mrkdwn`` text (``<url|label>``)."""
    return "http" + text.split("<http", 1)[1].split("|", 1)[0]


# --- follow-ups on someone else's run -----------------------------------------------------------------------


@pytest.mark.parametrize("who", [
    pytest.param(OTHER_USER, id="another-user-and-channel"),
    pytest.param({"user_id": "U2"}, id="another-user-same-channel"),
    pytest.param({"team_id": "T2"}, id="same-user-id-in-another-workspace"),
])
@pytest.mark.parametrize("command", ["failures slack-0612-1", "status slack-0612-1", "why did slack-0612-1 fail?"])
def test_a_follow_up_on_someone_elses_run_is_not_answered(airflow, slack, finished_run, who, command):
    text = ask(airflow, slack, finished_run, command, **who)

    assert text.startswith(":no_entry: Run `slack-0612-1` is not your run")
    assert "Website no longer active" not in text and "X-Amz" not in text and "my-data" not in text
    assert not run_was_read(airflow, "slack-0612-1")


def test_retry_failed_of_someone_elses_run_starts_nothing(airflow, slack, finished_run):
    text = ask(airflow, slack, finished_run, "retry-failed slack-0612-1", **OTHER_USER)

    assert "is not your run" in text
    assert airflow.triggered() == [] and list(airflow.runs) == ["slack-0612-1"]


def test_a_run_started_outside_slack_has_no_slack_owner(airflow, slack, finished_run):
    airflow.runs["manual__2025"] = {"dag_run_id": "manual__2025", "state": "success",
                                    "conf": {"text": "enrich s3://my-data/companies.csv"}}
    assert "is not your run" in ask(airflow, slack, finished_run, "retry-failed manual__2025")
    assert airflow.triggered() == []


def test_without_a_run_id_only_the_askers_own_runs_are_found(airflow, slack, finished_run):
    text = ask(airflow, slack, finished_run, "failures", **OTHER_USER)
    assert text == "I found no run of yours in this channel. Name it: `status <run>`."
    assert ask(airflow, slack, finished_run, "failures", team_id="T2").startswith("I found no run of yours")


def test_an_admin_may_follow_up_on_anyones_run(airflow, slack, finished_run):
    admin = {"user_id": "U9", "user_name": "ops", "channel_id": "C9", "settings": {"admin_user_ids": frozenset({"U9"})}}

    text = ask(airflow, slack, finished_run, "failures slack-0612-1", **admin)
    assert text.startswith("The 15 failures in run `slack-0612-1` were due to:")
    text = ask(airflow, slack, finished_run, "retry-failed slack-0612-1", **admin)
    (trigger,) = airflow.triggered()
    assert text == f"Started run `{trigger['dag_run_id']}` with the 15 failed rows of `slack-0612-1`."
    assert trigger["conf"]["retry_of"] == PREFIX
    # The new run is the admin's, replying to the admin: who asked comes from the request.
    assert {k: trigger["conf"][k] for k in ("user_id", "team_id", "channel_id", "response_url")} == {
        "user_id": "U9", "team_id": "T1", "channel_id": "C9", "response_url": slack.response_url("cmd")}


def test_admins_and_link_lifetime_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv("BATCHORCH_SLACK_ADMINS", " U9, W0ADMIN ,")
    monkeypatch.setenv("BATCHORCH_SLACK_LINK_TTL_SECONDS", "120")
    settings = SlackCommandSettings.from_env()
    assert settings.admin_user_ids == frozenset({"U9", "W0ADMIN"}) and settings.link_ttl_seconds == 120
    monkeypatch.delenv("BATCHORCH_SLACK_ADMINS")
    monkeypatch.delenv("BATCHORCH_SLACK_LINK_TTL_SECONDS")
    settings = SlackCommandSettings.from_env()
    assert settings.admin_user_ids == frozenset() and settings.link_ttl_seconds == 900


def test_the_asker_is_recorded_from_the_signed_request_not_the_text(client, airflow, slack):
    body = slash("enrich s3://my-data/companies.csv user_id=U9 team_id=T9", slack, user_id="U5", team_id="T5",
                 channel_id="C5")
    client.post(COMMANDS_PATH, content=body, headers=signed(body))
    (trigger,) = airflow.triggered()
    assert (trigger["conf"]["user_id"], trigger["conf"]["team_id"], trigger["conf"]["channel_id"]) == ("U5", "T5", "C5")


# --- replays ------------------------------------------------------------------------------------------------


def post_concurrently(url: str, body: bytes, headers: dict, times: int) -> list[httpx.Response]:
    responses: list[httpx.Response] = []
    threads = [threading.Thread(target=lambda: responses.append(
        httpx.post(url + COMMANDS_PATH, content=body, headers=headers, timeout=10))) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def test_a_replayed_signed_request_starts_exactly_one_run(airflow, slack):
    slack.clear()
    with serve(app_for(airflow)) as url:
        body = slash("enrich s3://my-data/companies.csv", slack)
        headers = signed(body)  # the same signature and timestamp, three times
        acks = post_concurrently(url, body, headers, 3)
        wait_for(lambda: len(airflow.triggered()) == 3)

    assert [a.status_code for a in acks] == [200, 200, 200]
    (run_id,) = airflow.runs
    assert {a.json()["text"].split("`")[1] for a in acks} == {run_id}
    assert slack.of("response_url") == []  # the replays were refused by Airflow (409), and told nobody

    # The same words sent again (a new request: another timestamp, another signature) are a new run.
    again = TestClient(app_for(airflow)).post(COMMANDS_PATH, content=body, headers=signed(body, age=-2))
    assert len(airflow.runs) == 2 and again.json()["text"].split("`")[1] != run_id


def test_a_replayed_retry_failed_starts_one_retry_and_answers_once(airflow, slack, finished_run):
    slack.clear()
    with serve(app_for(airflow, s3=lambda: finished_run)) as url:
        body = slash("retry-failed slack-0612-1", slack)
        post_concurrently(url, body, signed(body), 3)
        wait_for(lambda: len(airflow.triggered()) == 3 and slack.of("response_url"))
        time.sleep(0.3)  # room for a second answer, if there were one

    assert len(airflow.runs) == 2  # the finished run and one retry
    (reply,) = slack.of("response_url")
    assert reply.text.startswith("Started run `slack-")


# --- download links -----------------------------------------------------------------------------------------


def expires_seconds(url: str) -> int:
    (value,) = parse_qs(urlsplit(url).query)["X-Amz-Expires"]
    return int(value)


def test_a_download_link_lives_fifteen_minutes_by_default(airflow, slack, finished_run):
    assert expires_seconds(link_in(ask(airflow, slack, finished_run, "failures slack-0612-1"))) == 900
    status = ask(airflow, slack, finished_run, "status slack-0612-1")
    assert expires_seconds(link_in(status)) == 900 and "The download link expires in 15m 0s" in status


def test_the_download_link_lifetime_is_configurable(airflow, slack, finished_run):
    text = ask(airflow, slack, finished_run, "failures slack-0612-1", settings={"link_ttl_seconds": 300})
    assert expires_seconds(link_in(text)) == 300


def test_an_invalid_link_lifetime_refuses_the_command_rather_than_guessing(monkeypatch, slack):
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "8f742231b10e8888abcd99yyyzzz85a5")
    monkeypatch.setenv("BATCHORCH_SLACK_LINK_TTL_SECONDS", "86400000")
    body = slash("help", slack)
    response = TestClient(create_slack_app()).post(COMMANDS_PATH, content=body, headers=signed(body))
    assert response.status_code == 503


def test_the_results_message_in_the_thread_links_for_the_configured_minutes(embedded_aws, slack_conn, monkeypatch):
    """``post_results``: the real hook's link client (SigV4) on the embedded moto server, posted to the thread."""
    from airflow.sdk import DAG

    from airflow_provider_batchorch.operators.chat_replies import SlackBatchSummaryOperator

    for key, value in embedded_aws.environment().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("BATCHORCH_SLACK_LINK_TTL_SECONDS", "600")
    with DAG(f"chat_links_{uuid.uuid4().hex[:6]}", schedule=None):
        operator = SlackBatchSummaryOperator(task_id="post_results", summary=SUMMARY.model_dump(mode="json"),
                                             channel="C1", thread_ts="1700000000.000001")
    operator.execute({"run_id": "slack-0612-1"})

    (post,) = slack_conn.of("chat.postMessage")
    assert post.body["channel"] == "C1" and post.body["thread_ts"] == "1700000000.000001"
    assert expires_seconds(link_in(post.text)) == 600 and "The download link expires in 10m 0s" in post.text
