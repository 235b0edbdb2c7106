"""What the Slack command does after it has answered Slack: start a ``chat_command`` run, or answer
``status`` / ``failures`` / ``retry-failed`` from the run's stored summary (``summary.json`` next to the batch).

Everything here runs in the background of the API server and replies through the command's ``response_url``.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from airflow_provider_batchorch.aws.batch_store import load_summary
from airflow_provider_batchorch.core.chat_commands import ChatCommand
from airflow_provider_batchorch.core.chat_replies import failures_message, status_message, summary_message
from airflow_provider_batchorch.core.models import BatchSummary
from airflow_provider_batchorch.notifications.slack import SlackThread, presigned_url
from airflow_provider_batchorch.plugins.airflow_api import AirflowApi, AirflowApiError

log = logging.getLogger(__name__)

WAITING_STATES = ("running", "deferred", "awaiting_input", "up_for_retry", "queued", "scheduled")


def new_run_id(now: datetime | None = None) -> str:
    """Short enough to type in ``status <run>``: ``slack-0612-143055-a1b2``."""
    now = now or datetime.now(timezone.utc)
    return f"slack-{now:%m%d-%H%M%S}-{secrets.token_hex(2)}"


@dataclass
class SlashCommand:
    """The fields of a Slack slash command request this app uses."""

    text: str
    user_id: str | None = None
    user_name: str | None = None
    channel_id: str | None = None
    team_id: str | None = None
    response_url: str | None = None

    @classmethod
    def from_form(cls, form: dict[str, str]) -> "SlashCommand":
        return cls(**{name: form.get(name) or None for name in
                      ("user_id", "user_name", "channel_id", "team_id", "response_url")}, text=form.get("text", ""))

    def conf(self, **extra: Any) -> dict[str, Any]:
        return {"text": self.text, "user_id": self.user_id, "user_name": self.user_name,
                "channel_id": self.channel_id, "response_url": self.response_url, **extra}

    def reply(self, text: str, *, visible_to_channel: bool = False) -> None:
        SlackThread(None, None, response_url=self.response_url).reply_to_command(text, visible_to_channel=visible_to_channel)


class ChatFollowUps:
    """Start runs and answer follow-ups for one chat DAG.

    :param api: The Airflow REST API client (service credential).
    :param s3: A function returning an S3 client able to read the batches' summaries.
    """

    def __init__(self, api: AirflowApi, s3: Callable[[], Any], dag_id: str) -> None:
        self.api = api
        self.s3 = s3
        self.dag_id = dag_id

    def start_run(self, command: SlashCommand, run_id: str, **conf: Any) -> None:
        try:
            self.api.trigger_dag_run(self.dag_id, command.conf(**conf), run_id=run_id)
        except (AirflowApiError, OSError) as error:
            log.warning("Could not trigger %s run %s: %s", self.dag_id, run_id, error)
            command.reply(f":x: I couldn't start the run: {error}")

    def answer(self, chat: ChatCommand, command: SlashCommand) -> None:
        try:
            command.reply(self._answer(chat, command))
        except (AirflowApiError, OSError) as error:
            log.warning("Follow-up %s failed: %s", chat.kind, error)
            command.reply(f":x: I couldn't look that up: {error}")

    def _answer(self, chat: ChatCommand, command: SlashCommand) -> str:
        run_id = chat.run_id or self.latest_run_of(command)
        if run_id is None:
            return "I found no run of yours in this channel. Name it: `status <run>`."
        try:
            run = self.api.get_dag_run(self.dag_id, run_id)
        except AirflowApiError as error:
            if error.status_code == 404:
                return f"There is no run `{run_id}`."
            raise
        prefix_uri = (self.api.return_value(self.dag_id, run_id, "analyze_csv") or {}).get("prefix_uri")
        summary = self.stored_summary(prefix_uri)
        if summary is None:
            return self._no_results(run_id, run["state"], chat.kind)
        if chat.kind == "failures":
            return failures_message(summary, run_id, presigned_url(self.s3(), summary.output_csv_uri))
        if chat.kind == "retry_failed":
            return self._retry(run_id, summary, prefix_uri, command)
        return summary_message(summary, run_id, presigned_url(self.s3(), summary.output_csv_uri))

    def _no_results(self, run_id: str, state: str, kind: str) -> str:
        steps = [ti for ti in self.api.task_instances(self.dag_id, run_id) if ti.get("state") in WAITING_STATES]
        current = steps[0]["task_id"] if steps else None
        if current == "approve_batch" and steps[0]["state"] == "awaiting_input":
            current = "approve_batch (waiting for approval)"
        text = status_message(run_id, state, current)
        if kind != "status":
            text += " It has no results yet." if state in ("queued", "running") else " It produced no results."
        return text

    def _retry(self, run_id: str, summary: BatchSummary, prefix_uri: str, command: SlashCommand) -> str:
        if not summary.rows_failed:
            return f"Run `{run_id}` has no failed rows: nothing to retry."
        new_run = new_run_id()
        self.start_run(command, new_run, text=f"retry-failed {run_id}", retry_of=prefix_uri)
        return f"Started run `{new_run}` with the {summary.rows_failed:,} failed rows of `{run_id}`."

    def latest_run_of(self, command: SlashCommand) -> str | None:
        """The newest run this user started from this channel."""
        if not command.user_id:
            return None
        for run in self.api.latest_dag_runs(self.dag_id, conf_contains=command.user_id):
            conf = run.get("conf") or {}
            if conf.get("user_id") == command.user_id and conf.get("channel_id") == command.channel_id:
                return run["dag_run_id"]
        return None

    def stored_summary(self, prefix_uri: str | None) -> BatchSummary | None:
        if not prefix_uri:
            return None
        try:
            return load_summary(self.s3(), prefix_uri)
        except Exception as error:  # not written yet (NoSuchKey) or unreadable
            log.info("No summary at %s: %s", prefix_uri, error)
            return None
