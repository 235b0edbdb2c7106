"""What the Slack command does after it has answered Slack: start a ``chat_command`` run, or answer
``status`` / ``failures`` / ``retry-failed`` from the run's stored summary (``summary.json`` next to the batch).

Everything here runs in the background of the API server and replies through the command's ``response_url``
(visible to the asker only). A follow-up acts only on a run the same Slack user started in the same workspace
(``user_id`` and ``team_id`` in the run's conf, recorded from the verified request), or for a user on the admin
list; anyone else is told it is not their run, and nothing is read or started.

A request starts at most one run: its run id comes from its Slack timestamp and signature
(``request_run_id``), so a replay of it is refused by Airflow (409: already received) and answered by nobody.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Callable

from airflow_provider_batchorch.aws.batch_store import load_summary
from airflow_provider_batchorch.core.chat.commands import ChatCommand, Requester
from airflow_provider_batchorch.core.chat.replies import (
    failures_message,
    not_your_run_message,
    status_message,
    summary_message,
)
from airflow_provider_batchorch.core.models import BatchSummary
from airflow_provider_batchorch.notifications.slack import SlackThread, link_ttl_seconds, presigned_url
from airflow_provider_batchorch.plugins.airflow_api import AirflowApi, AirflowApiError

log = logging.getLogger(__name__)

WAITING_STATES = ("running", "deferred", "awaiting_input", "up_for_retry", "queued", "scheduled")
_FROM_REQUEST = ("user_id", "user_name", "team_id", "channel_id", "response_url")


@dataclass
class SlashCommand:
    """The fields of a verified Slack slash command request this app uses.

    :param start_run_id: The id of the run this request may start (``request_run_id`` of its timestamp and
        signature: the same for a replay).
    """

    text: str
    start_run_id: str
    user_id: str | None = None
    user_name: str | None = None
    channel_id: str | None = None
    team_id: str | None = None
    response_url: str | None = None

    @classmethod
    def from_form(cls, form: dict[str, str], *, start_run_id: str) -> "SlashCommand":
        return cls(**{name: form.get(name) or None for name in _FROM_REQUEST}, text=form.get("text", ""),
                   start_run_id=start_run_id)

    @property
    def requester(self) -> Requester:
        return Requester(user_id=self.user_id, team_id=self.team_id, channel_id=self.channel_id)

    def conf(self, **extra: Any) -> dict[str, Any]:
        """The run conf: the text (or ``extra``'s), then who asked, from the request (``extra`` cannot change it)."""
        return {"text": self.text, **extra, **{name: getattr(self, name) for name in _FROM_REQUEST}}

    def reply(self, text: str, *, visible_to_channel: bool = False) -> None:
        SlackThread(None, None, response_url=self.response_url).reply_to_command(text, visible_to_channel=visible_to_channel)


class ChatFollowUps:
    """Start runs and answer follow-ups for one chat DAG.

    :param api: The Airflow REST API client (service credential).
    :param s3: A function returning an S3 client able to read the batches' summaries and presign links (SigV4).
    """

    def __init__(self, api: AirflowApi, s3: Callable[[], Any], dag_id: str) -> None:
        self.api = api
        self.s3 = s3
        self.dag_id = dag_id

    def start_run(self, command: SlashCommand, **conf: Any) -> None:
        """Start the request's run (in the background); a refusal is told to the asker, a replay to nobody."""
        try:
            self.trigger(command, **conf)
        except (AirflowApiError, OSError) as error:
            log.warning("Could not trigger %s run %s: %s", self.dag_id, command.start_run_id, error)
            command.reply(f":x: I couldn't start the run: {error}")

    def trigger(self, command: SlashCommand, **conf: Any) -> bool:
        """Trigger ``command.start_run_id``. ``False``: that run exists, this request was already received."""
        try:
            self.api.trigger_dag_run(self.dag_id, command.conf(**conf), run_id=command.start_run_id)
        except AirflowApiError as error:
            if error.status_code != 409:
                raise
            log.warning("Slack request already received (replayed?): %s run %s exists", self.dag_id,
                        command.start_run_id)
            return False
        return True

    def answer(self, chat: ChatCommand, command: SlashCommand, *, admins: Iterable[str] = (),
               link_seconds: int | None = None) -> None:
        """Answer a follow-up through the command's ``response_url``.

        :param admins: Slack user ids that may follow up on anyone's run.
        :param link_seconds: How long download links stay valid (default ``BATCHORCH_SLACK_LINK_TTL_SECONDS``).
        """
        try:
            text = self._answer(chat, command, frozenset(admins), link_seconds or link_ttl_seconds())
        except (AirflowApiError, OSError) as error:
            log.warning("Follow-up %s failed: %s", chat.kind, error)
            text = f":x: I couldn't look that up: {error}"
        if text is not None:
            command.reply(text)

    def _answer(self, chat: ChatCommand, command: SlashCommand, admins: frozenset[str],
                link_seconds: int) -> str | None:
        run_id = chat.run_id or self.latest_run_of(command)
        if run_id is None:
            return "I found no run of yours in this channel. Name it: `status <run>`."
        try:
            run = self.api.get_dag_run(self.dag_id, run_id)
        except AirflowApiError as error:
            if error.status_code == 404:
                return f"There is no run `{run_id}`."
            raise
        if not command.requester.may_follow_up(Requester.of_run(run.get("conf")), admins):
            log.warning("Slack user %s (team %s) refused %s of run %s: not theirs", command.user_id,
                        command.team_id, chat.kind, run_id)
            return not_your_run_message(run_id)
        prefix_uri = (self.api.return_value(self.dag_id, run_id, "analyze_csv") or {}).get("prefix_uri")
        summary = self.stored_summary(prefix_uri)
        if summary is None:
            return self._no_results(run_id, run["state"], chat.kind)
        if chat.kind == "retry_failed":
            return self._retry(run_id, summary, prefix_uri, command)
        link = presigned_url(self.s3(), summary.output_csv_uri, link_seconds)
        if chat.kind == "failures":
            return failures_message(summary, run_id, link)
        return summary_message(summary, run_id, link, link_seconds)

    def _no_results(self, run_id: str, state: str, kind: str) -> str:
        steps = [ti for ti in self.api.task_instances(self.dag_id, run_id) if ti.get("state") in WAITING_STATES]
        current = steps[0]["task_id"] if steps else None
        if current == "approve_batch" and steps[0]["state"] == "awaiting_input":
            current = "approve_batch (waiting for approval)"
        text = status_message(run_id, state, current)
        if kind != "status":
            text += " It has no results yet." if state in ("queued", "running") else " It produced no results."
        return text

    def _retry(self, run_id: str, summary: BatchSummary, prefix_uri: str, command: SlashCommand) -> str | None:
        if not summary.rows_failed:
            return f"Run `{run_id}` has no failed rows: nothing to retry."
        try:
            started = self.trigger(command, text=f"retry-failed {run_id}", retry_of=prefix_uri)
        except (AirflowApiError, OSError) as error:
            log.warning("Could not trigger the retry of %s: %s", run_id, error)
            return f":x: I couldn't start the retry: {error}"
        if not started:
            return None  # a replay: the first request was answered
        return f"Started run `{command.start_run_id}` with the {summary.rows_failed:,} failed rows of `{run_id}`."

    def latest_run_of(self, command: SlashCommand) -> str | None:
        """The newest run this user started from this channel of this workspace."""
        if not command.user_id:
            return None
        for run in self.api.latest_dag_runs(self.dag_id, conf_contains=command.user_id):
            if Requester.of_run(run.get("conf")) == command.requester:
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
