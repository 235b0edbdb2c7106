"""The Slack Events API route: signed events only, the URL verification challenge, and a reply or a mention in a
conversation's thread continuing it as one chat_command run (keyed by channel and thread_ts in the S3 store),
however often Slack delivers it."""

from __future__ import annotations

import json

import boto3
import pytest
from fastapi.testclient import TestClient
from moto import mock_aws

from airflow_provider_batchorch.orchestrator.conversations import Conversation, ConversationKey, S3ConversationStore
from airflow_provider_batchorch.plugins.chat_follow_ups import ChatFollowUps
from airflow_provider_batchorch.plugins.slack import EVENTS_PATH, SlackCommandSettings, create_slack_app
from tests.plugins.test_slack import signed
from tests.support.slack_fixtures import SIGNING_SECRET

THREAD = "1700000000.000001"


@pytest.fixture
def store():
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="my-data")
        store = S3ConversationStore(s3, "my-data")
        store.save(Conversation(key=ConversationKey(team_id="T1", channel_id="C1", thread_ts=THREAD),
                                owner_user_id="U1", owner_team_id="T1"))
        yield store


def events_client(airflow, store, **settings) -> TestClient:
    config = SlackCommandSettings(signing_secret=SIGNING_SECRET, **settings)
    return TestClient(create_slack_app(
        settings=lambda: config,
        follow_ups=lambda current: ChatFollowUps(airflow.client(), lambda: None, current.dag_id),
        conversations=lambda current: lambda: store))


def event(text: str = "<@UBOT> why did 15 fail?", *, kind: str = "message", user: str = "U1", ts: str = "1700000100.000200",
          thread_ts: str | None = THREAD, team: str = "T1", **fields) -> dict:
    inner = {"type": kind, "user": user, "text": text, "ts": ts, "channel": "C1", "event_ts": ts, **fields}
    if thread_ts:
        inner["thread_ts"] = thread_ts
    return {"type": "event_callback", "team_id": team, "api_app_id": "A1", "event_id": f"Ev{kind}{ts}",
            "event": inner, "authorizations": [{"user_id": "UBOT", "is_bot": True}]}


def post(client: TestClient, payload: dict, *, age: float = 0, **headers):
    body = json.dumps(payload).encode()
    return client.post(EVENTS_PATH, content=body,
                       headers={**signed(body, age=age), "Content-Type": "application/json", **headers})


def test_url_verification_is_answered_only_when_signed(airflow, store):
    client = events_client(airflow, store)
    challenge = {"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                 "type": "url_verification"}
    assert post(client, challenge).json() == {"challenge": challenge["challenge"]}
    body = json.dumps(challenge).encode()
    unsigned = client.post(EVENTS_PATH, content=body, headers={"Content-Type": "application/json"})
    forged = client.post(EVENTS_PATH, content=body, headers=signed(body, secret="not-the-signing-secret"))
    assert (unsigned.status_code, forged.status_code) == (401, 401)


def test_a_reply_in_the_thread_continues_its_conversation_once(airflow, store):
    client = events_client(airflow, store)
    assert post(client, event()).json() == {"ok": True}
    (run,) = airflow.runs.values()
    assert run["dag_run_id"].startswith("slack-thread-1114-")
    assert run["conf"] == {"text": "why did 15 fail?", "thread_ts": THREAD, "user_id": "U1", "user_name": None,
                           "team_id": "T1", "channel_id": "C1", "response_url": None}
    post(client, event(), age=-2, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})  # signed anew
    post(client, event(kind="app_mention"))  # the same message's mention event
    assert list(airflow.runs) == [run["dag_run_id"]]
    post(client, event("retry the failed ones", ts="1700000200.000300"))
    assert [r["conf"]["text"] for r in airflow.runs.values()] == ["why did 15 fail?", "retry the failed ones"]


@pytest.mark.parametrize("payload", [
    pytest.param(event(bot_id="B1"), id="the-bot's-own-reply"),
    pytest.param(event(subtype="message_changed"), id="an-edit"),
    pytest.param(event(thread_ts=None), id="not-in-a-thread"),
    pytest.param(event(thread_ts="1700000050.000009"), id="a-thread-without-a-conversation"),
    pytest.param(event(user="U2"), id="another-user's-reply"),
    pytest.param(event(team="T2"), id="a-workspace-not-allowed"),
    pytest.param(event("<@UBOT>", kind="app_mention"), id="an-empty-mention"),
    pytest.param({"type": "event_callback", "team_id": "T1", "event": {"type": "reaction_added", "user": "U1"}},
                 id="another-event"),
])
def test_other_thread_traffic_starts_nothing(airflow, store, payload):
    client = events_client(airflow, store, allowed_team_ids=frozenset({"T1"}))
    assert post(client, payload).status_code == 200  # an error would only make Slack retry
    assert airflow.runs == {}


def test_an_admin_may_continue_another_users_thread(airflow, store):
    post(events_client(airflow, store, admin_user_ids=frozenset({"U9"})), event(user="U9"))
    assert [r["conf"]["user_id"] for r in airflow.runs.values()] == ["U9"]


def test_a_mention_outside_a_thread_starts_a_conversation_in_its_own_thread(airflow, store):
    post(events_client(airflow, store), event("<@UBOT> classify s3://my-data/tickets.csv", kind="app_mention",
                                              thread_ts=None, user="U2"))
    (run,) = airflow.runs.values()
    assert run["conf"]["thread_ts"] == "1700000100.000200" and run["conf"]["user_id"] == "U2"
    assert run["conf"]["text"] == "classify s3://my-data/tickets.csv"
