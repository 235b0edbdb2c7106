"""The Slack slash-command endpoint: signature checks, a fast acknowledgement, the run it triggers through the
REST API, and follow-ups answered from the run's stored summary (replies over HTTP to the Slack stand-in)."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.testclient import TestClient
from slack_sdk.signature import SignatureVerifier

from airflow_provider_batchorch.core.chat.commands import HELP_TEXT
from airflow_provider_batchorch.plugins.chat_follow_ups import ChatFollowUps
from airflow_provider_batchorch.plugins.slack import (
    COMMANDS_PATH,
    URL_PREFIX,
    BatchorchSlackPlugin,
    SlackCommandSettings,
    create_slack_app,
)
from tests.support.slack_fixtures import PREFIX, SIGNING_SECRET
from tests.support.fake_airflow_api import FakeAirflowApi
from tests.support.asgi_server import serve
from tests.support.direct_execute import quiet_direct_execute_if_airflow_loaded  # noqa: F401  (autouse)


def slash(text: str, slack, **fields) -> bytes:
    form = {"token": "legacy", "team_id": "T1", "channel_id": "C1", "user_id": "U1", "user_name": "ada",
            "command": "/enrich", "text": text, "response_url": slack.response_url("cmd"), **fields}
    return urlencode(form).encode()


def signed(body: bytes, *, secret: str = SIGNING_SECRET, age: float = 0, timestamp: str | None = None) -> dict:
    timestamp = timestamp or str(int(time.time() - age))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded"}


def app_for(airflow: FakeAirflowApi, s3=None, **settings):
    config = SlackCommandSettings(signing_secret=SIGNING_SECRET, **settings)
    return create_slack_app(settings=lambda: config,
                            follow_ups=lambda current: ChatFollowUps(airflow.client(), s3 or (lambda: None),
                                                                     current.dag_id))


@pytest.fixture
def client(airflow):
    return TestClient(app_for(airflow))


def wait_for(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# --- signatures -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [
    pytest.param(lambda body: {"Content-Type": "application/x-www-form-urlencoded"}, id="unsigned"),
    pytest.param(lambda body: signed(body, secret="not-the-signing-secret"), id="forged"),
    pytest.param(lambda body: signed(body, age=6 * 60), id="stale"),
    pytest.param(lambda body: signed(body, age=-6 * 60), id="from-the-future"),
    pytest.param(lambda body: signed(body + b"&text=rm+-rf"), id="body-changed-after-signing"),
    pytest.param(lambda body: {**signed(body), "X-Slack-Request-Timestamp": "yesterday"}, id="bad-timestamp"),
])
def test_requests_without_a_valid_recent_signature_are_refused(client, airflow, slack, headers):
    body = slash("enrich s3://my-data/companies.csv", slack)
    response = client.post(COMMANDS_PATH, content=body, headers=headers(body))
    assert response.status_code == 401
    assert airflow.requests == []


def test_a_signature_four_minutes_old_is_still_accepted(client, airflow, slack):
    body = slash("help", slack)
    assert client.post(COMMANDS_PATH, content=body, headers=signed(body, age=4 * 60)).status_code == 200


def test_no_signing_secret_configured_refuses_everything(airflow, slack):
    app = create_slack_app(settings=lambda: SlackCommandSettings(signing_secret=None))
    body = slash("help", slack)
    assert TestClient(app).post(COMMANDS_PATH, content=body, headers=signed(body)).status_code == 503


def test_secret_from_the_environment(monkeypatch, slack):
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    body = slash("help", slack)
    response = TestClient(create_slack_app()).post(COMMANDS_PATH, content=body, headers=signed(body))
    assert response.json() == {"response_type": "ephemeral", "text": HELP_TEXT}


def test_other_workspaces_are_refused(airflow, slack):
    client = TestClient(app_for(airflow, allowed_team_ids=frozenset({"T-OURS"})))
    body = slash("enrich s3://my-data/companies.csv", slack)
    assert client.post(COMMANDS_PATH, content=body, headers=signed(body)).status_code == 403
    assert airflow.requests == []


# --- triggering a run -------------------------------------------------------------------------------------


def test_a_request_is_acknowledged_and_triggers_a_chat_command_run(client, airflow, slack):
    body = slash("enrich s3://my-data/companies.csv with industry, 25 parallel workers", slack)
    response = client.post(COMMANDS_PATH, content=body, headers=signed(body))

    assert response.status_code == 200 and response.json()["response_type"] == "ephemeral"
    (trigger,) = airflow.triggered()
    run_id = trigger["dag_run_id"]
    assert f"`{run_id}`" in response.json()["text"]
    assert trigger == {"logical_date": None, "dag_run_id": run_id, "conf": {
        "text": "enrich s3://my-data/companies.csv with industry, 25 parallel workers", "user_id": "U1",
        "user_name": "ada", "team_id": "T1", "channel_id": "C1", "response_url": slack.response_url("cmd")}}
    token_request, trigger_request = airflow.requests
    assert token_request.url.path == "/auth/token"
    assert trigger_request.url.path == "/api/v2/dags/chat_command/dagRuns"
    assert trigger_request.headers["Authorization"] == "Bearer token-1"


def test_the_ack_comes_at_once_even_when_airflow_is_slow(slack):
    slow = FakeAirflowApi(delay=1.6)  # token + trigger: more than the three seconds Slack waits
    with serve(app_for(slow)) as url:
        body = slash("enrich s3://my-data/companies.csv", slack)
        started = time.monotonic()
        response = httpx.post(url + COMMANDS_PATH, content=body, headers=signed(body), timeout=10)
        acked_after = time.monotonic() - started
        assert response.status_code == 200 and acked_after < 1.0
        wait_for(lambda: slow.triggered(), timeout=10)  # the trigger happened afterwards, in the background


def test_an_expired_token_is_fetched_again(client, airflow, slack):
    airflow.expire_next_token = True
    body = slash("enrich s3://my-data/companies.csv", slack)
    client.post(COMMANDS_PATH, content=body, headers=signed(body))
    assert len(airflow.triggered()) == 2 and airflow.tokens_issued == 2  # refused once, then accepted
    assert airflow.requests[-1].headers["Authorization"] == "Bearer token-2"


def test_a_refused_trigger_is_reported_to_the_user(client, airflow, slack):
    slack.clear()
    airflow.refuse_trigger = (400, "Invalid input for param text")
    body = slash("enrich s3://my-data/companies.csv", slack)
    client.post(COMMANDS_PATH, content=body, headers=signed(body))
    (reply,) = slack.of("response_url")
    assert reply.text.startswith(":x: I couldn't start the run: Airflow API answered 400")


def test_the_plugin_serves_the_app_under_batchorch():
    (mounted,) = BatchorchSlackPlugin.fastapi_apps
    assert mounted["url_prefix"] == URL_PREFIX and mounted["app"].url_path_for("slash_command") == COMMANDS_PATH


# --- follow-ups -------------------------------------------------------------------------------------------

def ask_follow_up(airflow, slack, s3, text: str) -> str:
    slack.clear()
    client = TestClient(app_for(airflow, s3=lambda: s3))
    body = slash(text, slack)
    assert client.post(COMMANDS_PATH, content=body, headers=signed(body)).status_code == 200
    (reply,) = slack.of("response_url")
    assert reply.body["response_type"] == "ephemeral"
    return reply.text


def test_why_did_rows_fail_answered_from_the_stored_summary(airflow, slack, finished_run):
    text = ask_follow_up(airflow, slack, finished_run, "failures slack-0612-1")
    assert text.startswith("The 15 failures in run `slack-0612-1` were due to:")
    assert "- 8 rows: Website no longer active" in text and "_error_message column" in text
    assert "X-Amz" in text or "Signature=" in text  # a fresh download link
    # Without a run id: the user's latest run in this channel.
    assert ask_follow_up(airflow, slack, finished_run, "why did 15 companies fail?") == text


def test_status_of_a_finished_run_is_its_summary(airflow, slack, finished_run):
    text = ask_follow_up(airflow, slack, finished_run, "status slack-0612-1")
    assert "Successfully processed: 485 rows (97%)" in text


def test_status_of_a_run_waiting_for_approval(airflow, slack, finished_run):
    airflow.runs["slack-0612-2"] = {"dag_run_id": "slack-0612-2", "state": "running",
                                    "conf": {"user_id": "U1", "team_id": "T1"}}
    airflow.task_instances["slack-0612-2"] = [{"task_id": "agent_request", "state": "success"},
                                              {"task_id": "approve_batch", "state": "awaiting_input"}]
    text = ask_follow_up(airflow, slack, finished_run, "status slack-0612-2")
    assert text == "Run `slack-0612-2` is running, at *approve_batch (waiting for approval)*."
    assert ask_follow_up(airflow, slack, finished_run, "status slack-9999-x") == "There is no run `slack-9999-x`."


def test_retry_failed_starts_a_run_over_the_failed_rows(airflow, slack, finished_run):
    text = ask_follow_up(airflow, slack, finished_run, "retry-failed slack-0612-1")
    (trigger,) = airflow.triggered()
    assert text == f"Started run `{trigger['dag_run_id']}` with the 15 failed rows of `slack-0612-1`."
    assert trigger["conf"]["retry_of"] == PREFIX and trigger["conf"]["text"] == "retry-failed slack-0612-1"
