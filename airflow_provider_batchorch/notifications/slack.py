"""Messages to the Slack thread of one chat request, with ``slack_sdk`` (through the Slack provider's
``SlackHook`` when called from Airflow): the first message starts the thread, later ones reply in it; the
progress message is edited in place; a slash command's ``response_url`` gets direct answers.

Sending never fails a batch: a Slack error is logged, and a message the bot cannot post to the channel (not
invited, say) goes to the command's ``response_url`` instead when there is one.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from airflow_provider_batchorch.core.chat.replies import progress_message
from airflow_provider_batchorch.core.env_number import env_number
from airflow_provider_batchorch.core.models import Progress
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri

if TYPE_CHECKING:  # slack_sdk is imported when a message is sent, not when a DAG file is parsed
    from slack_sdk import WebClient

log = logging.getLogger(__name__)

LINK_TTL_ENV = "BATCHORCH_SLACK_LINK_TTL_SECONDS"
DEFAULT_LINK_TTL_SECONDS = 15 * 60
MAX_LINK_TTL_SECONDS = 7 * 24 * 3600  # the longest a SigV4 presigned URL may live
DEFAULT_SLACK_CONN_ID = "slack_api_default"


def link_ttl_seconds(environ: Mapping[str, str] | None = None) -> int:
    """How long a download link posted to Slack stays valid: ``BATCHORCH_SLACK_LINK_TTL_SECONDS``, default 900.

    Read where links are made: the API server (follow-ups) and the workers (the results message).
    """
    environ = os.environ if environ is None else environ
    seconds = env_number(environ, LINK_TTL_ENV, int, low=1, high=MAX_LINK_TTL_SECONDS,
                         expected=f"a number of seconds from 1 to {MAX_LINK_TTL_SECONDS}",
                         hint=f"Set it to e.g. 900 (15 minutes), or unset it for the default "
                              f"({DEFAULT_LINK_TTL_SECONDS} s).")
    return DEFAULT_LINK_TTL_SECONDS if seconds is None else int(seconds)


@dataclass
class SlackThread:
    """Where the replies to one request go.

    :param client: A ``WebClient`` (``SlackHook(...).client``); ``None`` posts nothing to the channel.
    :param channel: The channel the request came from.
    :param thread_ts: The thread to reply in; ``None`` until the first message starts one.
    :param response_url: The slash command's reply URL (answers there are visible to the user who asked).
    """

    client: WebClient | None
    channel: str | None
    thread_ts: str | None = None
    response_url: str | None = None
    progress_ts: str | None = None
    last_progress_at: float = field(default=0.0)

    def __post_init__(self) -> None:
        # A ts from XCom through native template rendering arrives as a float (1700000000.000010 -> 1700000000.00001):
        # Slack's ts always has six decimals.
        if isinstance(self.thread_ts, float):
            self.thread_ts = f"{self.thread_ts:.6f}"

    def post(self, text: str, *, fallback_to_command: bool = True) -> str | None:
        """Post ``text`` in the thread (the first message starts it). Returns the message's ``ts``.

        :param fallback_to_command: When the channel refuses it, answer through the ``response_url`` (which
            takes five answers at most: not for frequent messages like progress).
        """
        from slack_sdk.errors import SlackApiError, SlackClientError

        if self.client is not None and self.channel:
            try:
                response = self.client.chat_postMessage(channel=self.channel, text=text, thread_ts=self.thread_ts,
                                                        unfurl_links=False, unfurl_media=False)
                self.thread_ts = self.thread_ts or response["ts"]
                return response["ts"]
            except (SlackApiError, SlackClientError) as error:
                log.warning("Slack chat.postMessage to %s failed: %s", self.channel, error)
        if self.response_url and fallback_to_command:
            self.reply_to_command(text, visible_to_channel=True)
        return None

    def update(self, ts: str, text: str) -> bool:
        from slack_sdk.errors import SlackApiError, SlackClientError

        if self.client is None or not self.channel:
            return False
        try:
            self.client.chat_update(channel=self.channel, ts=ts, text=text)
            return True
        except (SlackApiError, SlackClientError) as error:
            log.warning("Slack chat.update of %s failed: %s", ts, error)
            return False

    def reply_to_command(self, text: str, *, visible_to_channel: bool = False) -> bool:
        """Answer through the slash command's ``response_url``: only the requester sees it, unless
        ``visible_to_channel``."""
        from slack_sdk.errors import SlackClientError
        from slack_sdk.webhook import WebhookClient

        if not self.response_url:
            return False
        try:
            response = WebhookClient(self.response_url, timeout=10).send(
                text=text, response_type="in_channel" if visible_to_channel else "ephemeral"
            )
        except (OSError, SlackClientError) as error:
            log.warning("Slack response_url reply failed: %s", error)
            return False
        if response.status_code != 200:
            log.warning("Slack response_url answered %s: %s", response.status_code, response.body)
        return response.status_code == 200

    def report_progress(self, progress: Progress, *, min_interval: float = 0.0) -> bool:
        """Show ``progress`` in the thread: one message, edited as the batch advances. Returns whether it
        posted (an update sooner than ``min_interval`` seconds after the last one is dropped)."""
        now = time.monotonic()
        if self.progress_ts is not None and now - self.last_progress_at < min_interval:
            return False
        text = progress_message(progress)
        if self.progress_ts is None or not self.update(self.progress_ts, text):
            self.progress_ts = self.post(text, fallback_to_command=False)
        self.last_progress_at = now
        return True


def slack_client(slack_conn_id: str | None) -> WebClient | None:
    """The ``WebClient`` of an Airflow Slack connection (token in ``password``, ``base_url`` in the extra);
    ``None`` when there is no such connection, so chat replies are skipped rather than failing the run."""
    if not slack_conn_id:
        return None
    from airflow.providers.slack.hooks.slack import SlackHook

    try:
        return SlackHook(slack_conn_id=slack_conn_id).client
    except Exception as error:  # an unknown connection raises a plain AirflowNotFoundException
        log.warning("No Slack client from connection %r (%s): chat replies are skipped", slack_conn_id, error)
        return None


def presigned_url(s3, uri: str, expires_seconds: int | None = None) -> str | None:
    """A download link for ``s3://bucket/key`` valid for ``expires_seconds`` (default: ``link_ttl_seconds()``),
    or ``None`` if one cannot be made. Give it a SigV4 client (``BatchorchHook.s3_links``): its links carry
    ``X-Amz-Expires``, and S3 refuses longer than seven days."""
    expires_seconds = expires_seconds or link_ttl_seconds()  # a bad setting raises: no silent 24-hour links
    try:
        bucket, key = parse_s3_uri(uri)
        return s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                         ExpiresIn=expires_seconds)
    except Exception as error:  # no credentials to sign with
        log.warning("Cannot presign %s: %s", uri, error)
        return None


def notify_chat_run_failed(context, *, slack_conn_id: str | None = DEFAULT_SLACK_CONN_ID,
                           request_task_id: str = "agent_request") -> None:
    """A task's ``on_failure_callback`` in a chat run: say in the run's thread which step failed and why."""
    from airflow_provider_batchorch.core.chat.replies import run_failed_message

    params = context.get("params") or {}
    ti = context["ti"]
    plan = ti.xcom_pull(task_ids=request_task_id) if ti.task_id != request_task_id else None
    thread = SlackThread(slack_client(slack_conn_id), params.get("channel_id") or None,
                         thread_ts=(plan or {}).get("thread_ts"), response_url=params.get("response_url") or None)
    thread.post(run_failed_message(context["run_id"], ti.task_id, str(context.get("exception") or "")))
