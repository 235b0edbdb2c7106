"""Slack slash commands as an Airflow plugin: ``POST /batchorch/slack/commands`` on the API server.

    /enrich s3://my-data/companies.csv with industry and employee count, 25 parallel workers
    /enrich status slack-0612-143055-a1b2      /enrich failures      /enrich retry-failed slack-...

Airflow does not authenticate a plugin's app, so every request must carry a valid Slack signature (HMAC of the
raw body with the app's signing secret, at most five minutes old): unsigned, forged or stale requests get 401.
A request is bound to who sent it: the run it starts records the Slack ``user_id``, ``team_id`` and ``channel_id``
of the verified payload in its conf, and follow-ups (``status``, ``failures``, ``retry-failed``) act only on the
asker's own runs (same user, same workspace) unless the asker is an admin; others are told it is not their run.
A request starts at most one run, however often it is replayed within its five minutes: the run id is derived
from the request's timestamp and signature, and Airflow refuses a second run with the same id (409).
The answer to Slack comes at once (Slack gives up after three seconds); the work (triggering a ``chat_command``
run through the REST API with a service credential, or looking up a run) happens in the background and replies
through the command's ``response_url``.

Configuration (environment of the API server):

- ``SLACK_SIGNING_SECRET``, or the ``password`` of the Airflow connection named by
  ``BATCHORCH_SLACK_SIGNING_CONN_ID`` (default ``slack_signing_secret``);
- ``BATCHORCH_SLACK_ALLOWED_TEAMS``: Slack workspace ids allowed to use the command (comma separated; empty: any);
- ``BATCHORCH_SLACK_ADMINS``: Slack user ids that may follow up on anyone's run (comma separated; default none);
- ``BATCHORCH_SLACK_LINK_TTL_SECONDS``: how long the download links in answers stay valid (default 900);
- ``BATCHORCH_CHAT_DAG_ID`` (default ``chat_command``), ``BATCHORCH_CHAT_AWS_CONN_ID`` (default ``aws_default``,
  to read the stored summaries);
- the REST API: see ``plugins.airflow_api`` (``BATCHORCH_AIRFLOW_API_URL``, a service user).

Thread follow-ups come from Slack's Events API at ``POST /batchorch/slack/events`` (the Slack app's Event
Subscriptions Request URL; bot events ``app_mention`` and ``message.channels``): same signature check, the URL
verification challenge answered, then a mention or a reply in a conversation's thread starts a ``chat_command``
run with the thread's ``thread_ts`` (``plugins.slack_threads``; the conversations' store: ``BATCHORCH_CONVERSATIONS_BUCKET``,
else the chat policy's bucket, read with ``BATCHORCH_CHAT_AWS_CONN_ID``). Slack's retries (``X-Slack-Retry-Num``)
start nothing twice: the run id comes from the message.

Register it with the ``airflow.plugins`` entry point (``batchorch_slack =
"airflow_provider_batchorch.plugins.slack:BatchorchSlackPlugin"``) or a file in the plugins folder.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qsl

from fastapi import BackgroundTasks, FastAPI, Request
from fastapi.responses import JSONResponse
from slack_sdk.signature import SignatureVerifier

from airflow.plugins_manager import AirflowPlugin
from airflow_provider_batchorch.core.chat.commands import (
    HELP_TEXT,
    SCHEDULE_KINDS,
    id_set,
    parse_chat_command,
    request_run_id,
)
from airflow_provider_batchorch.core.chat.slack_events import thread_message
from airflow_provider_batchorch.core.errors import BatchorchError
from airflow_provider_batchorch.notifications.slack import DEFAULT_LINK_TTL_SECONDS, link_ttl_seconds
from airflow_provider_batchorch.plugins.airflow_api import AirflowApi, AirflowApiSettings
from airflow_provider_batchorch.plugins.chat_follow_ups import ChatFollowUps, SlashCommand
from airflow_provider_batchorch.plugins.chat_schedules import ChatSchedules
from airflow_provider_batchorch.plugins.slack_threads import SlackThreads

log = logging.getLogger(__name__)

URL_PREFIX = "/batchorch"
COMMANDS_PATH = "/slack/commands"
EVENTS_PATH = "/slack/events"


@dataclass(frozen=True)
class SlackCommandSettings:
    signing_secret: str | None
    dag_id: str = "chat_command"
    allowed_team_ids: frozenset[str] = field(default_factory=frozenset)
    aws_conn_id: str = "aws_default"
    admin_user_ids: frozenset[str] = field(default_factory=frozenset)
    link_ttl_seconds: int = DEFAULT_LINK_TTL_SECONDS

    @classmethod
    def from_env(cls) -> "SlackCommandSettings":
        return cls(
            signing_secret=os.environ.get("SLACK_SIGNING_SECRET") or _secret_from_connection(
                os.environ.get("BATCHORCH_SLACK_SIGNING_CONN_ID", "slack_signing_secret")),
            dag_id=os.environ.get("BATCHORCH_CHAT_DAG_ID", "chat_command"),
            allowed_team_ids=id_set(os.environ.get("BATCHORCH_SLACK_ALLOWED_TEAMS")),
            aws_conn_id=os.environ.get("BATCHORCH_CHAT_AWS_CONN_ID", "aws_default"),
            admin_user_ids=id_set(os.environ.get("BATCHORCH_SLACK_ADMINS")),
            link_ttl_seconds=link_ttl_seconds(),
        )


def _secret_from_connection(conn_id: str) -> str | None:
    try:
        from airflow.models.connection import Connection

        return Connection.get_connection_from_secrets(conn_id).password or None
    except Exception:  # no such connection: the endpoint answers 503 until a secret is configured
        return None


def _aws_s3(aws_conn_id: str) -> Callable[[], Any]:
    def s3():
        from airflow_provider_batchorch.hooks.batchorch import BatchorchHook

        return BatchorchHook(aws_conn_id=aws_conn_id).s3_links

    return s3


def _conversations(aws_conn_id: str) -> Callable[[], Any]:
    def store():
        from airflow_provider_batchorch.core.chat.request_policy import RequestPolicy
        from airflow_provider_batchorch.hooks.batchorch import BatchorchHook
        from airflow_provider_batchorch.orchestrator.conversations import S3ConversationStore, conversations_bucket

        return S3ConversationStore(BatchorchHook(aws_conn_id=aws_conn_id).s3,
                                   conversations_bucket(RequestPolicy.from_env()))

    return store


def _ephemeral(text: str) -> dict[str, str]:
    return {"response_type": "ephemeral", "text": text}


def create_slack_app(
    *,
    settings: Callable[[], SlackCommandSettings] = SlackCommandSettings.from_env,
    follow_ups: Callable[[SlackCommandSettings], ChatFollowUps] | None = None,
    conversations: Callable[[SlackCommandSettings], Callable[[], Any]] | None = None,
    schedules: Callable[[SlackCommandSettings], ChatSchedules] | None = None,
) -> FastAPI:
    """The FastAPI app. Settings are read per request, so a changed secret needs no restart.

    :param follow_ups: Builds the ``ChatFollowUps`` (REST client, S3); default from the environment, once.
    :param conversations: Returns a function giving the conversation store; default the S3 store of the chat's
        conversations bucket (``BATCHORCH_CONVERSATIONS_BUCKET``) over ``aws_conn_id``.
    :param schedules: Builds the ``ChatSchedules`` (managed schedules); default ``BATCHORCH_SCHEDULES_TABLE``.
    """
    app = FastAPI(title="batchorch Slack commands", docs_url=None, redoc_url=None, openapi_url=None)
    built: dict[str, ChatFollowUps] = {}
    threads: dict[str, SlackThreads] = {}

    def chat_for(current: SlackCommandSettings) -> ChatFollowUps:
        if current.dag_id not in built:
            built[current.dag_id] = follow_ups(current) if follow_ups else ChatFollowUps(
                AirflowApi(AirflowApiSettings.from_env()), _aws_s3(current.aws_conn_id), current.dag_id)
        return built[current.dag_id]

    def threads_for(current: SlackCommandSettings) -> SlackThreads:
        if current.dag_id not in threads:
            store = conversations(current) if conversations else _conversations(current.aws_conn_id)
            threads[current.dag_id] = SlackThreads(chat_for(current), store)
        return threads[current.dag_id]

    @app.post(COMMANDS_PATH)
    async def slash_command(request: Request, background: BackgroundTasks) -> Any:
        body = await request.body()
        current = _verified_settings(settings, body, request.headers)
        if isinstance(current, JSONResponse):
            return current
        command = SlashCommand.from_form(
            dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True)),
            start_run_id=request_run_id(request.headers["x-slack-request-timestamp"],
                                        request.headers["x-slack-signature"]),
        )
        if current.allowed_team_ids and command.team_id not in current.allowed_team_ids:
            return JSONResponse(_ephemeral("This Slack workspace may not use this command."), status_code=403)
        chat = parse_chat_command(command.text)
        if chat.kind == "help":
            return _ephemeral(HELP_TEXT)
        if chat.kind in SCHEDULE_KINDS:
            chat_schedules = schedules(current) if schedules else ChatSchedules.from_env(current.aws_conn_id)
            background.add_task(chat_schedules.answer, chat, command, admins=current.admin_user_ids)
            return _ephemeral("Looking at your schedules...")
        follow_up = chat_for(current)
        if chat.kind == "request":
            run_id = command.start_run_id
            background.add_task(follow_up.start_run, command)
            return _ephemeral(f"On it: run `{run_id}`. I'll reply in this channel; `status {run_id}` shows where "
                              "it is.")
        background.add_task(follow_up.answer, chat, command, admins=current.admin_user_ids,
                            link_seconds=current.link_ttl_seconds)
        return _ephemeral(f"Looking up {chat.run_id or 'your latest run'}...")

    @app.post(EVENTS_PATH)
    async def slack_event(request: Request, background: BackgroundTasks) -> Any:
        body = await request.body()
        current = _verified_settings(settings, body, request.headers)
        if isinstance(current, JSONResponse):
            return current
        try:
            payload = json.loads(body)
        except ValueError:
            return JSONResponse({"detail": "the body is not JSON"}, status_code=400)
        if not isinstance(payload, dict):
            return JSONResponse({"detail": "the body is not a Slack event"}, status_code=400)
        if payload.get("type") == "url_verification":
            return {"challenge": str(payload.get("challenge", ""))}
        if current.allowed_team_ids and payload.get("team_id") not in current.allowed_team_ids:
            log.warning("Slack event from workspace %s ignored: not allowed", payload.get("team_id"))
            return {"ok": True}  # an error status would only make Slack retry
        message = thread_message(payload)
        if message is not None:
            if request.headers.get("x-slack-retry-num"):
                log.info("Slack retry %s (%s) of %s: the run id %s starts it once",
                         request.headers.get("x-slack-retry-num"), request.headers.get("x-slack-retry-reason"),
                         payload.get("event_id"), message.run_id)
            background.add_task(threads_for(current).continue_thread, message, admins=current.admin_user_ids)
        return {"ok": True}

    return app


def _verified_settings(settings: Callable[[], SlackCommandSettings], body: bytes,
                       headers: Any) -> SlackCommandSettings | JSONResponse:
    """The settings when the request carries a valid recent Slack signature; else the refusal to answer."""
    try:
        current = settings()
    except BatchorchError as error:
        log.error("Slack request refused: %s", error)
        return JSONResponse({"detail": "the Slack command is misconfigured; see the API server log"},
                            status_code=503)
    if not current.signing_secret:
        log.error("Slack request refused: no signing secret configured")
        return JSONResponse({"detail": "Slack signing secret not configured"}, status_code=503)
    if not _signed(current.signing_secret, body, headers):
        return JSONResponse({"detail": "invalid or missing Slack signature"}, status_code=401)
    return current


def _signed(secret: str, body: bytes, headers: Any) -> bool:
    try:
        return SignatureVerifier(secret).is_valid(
            body, headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature")
        )
    except (ValueError, TypeError):  # a timestamp that is not a number
        return False


app = create_slack_app()


class BatchorchSlackPlugin(AirflowPlugin):
    """Serves ``app`` under ``/batchorch`` on the Airflow API server."""

    name = "batchorch_slack"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "batchorch Slack commands"}]
