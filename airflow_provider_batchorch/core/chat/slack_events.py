"""Slack Events API payloads (``app_mention``, ``message``) as the thread messages the chat continues.

    message = thread_message(payload)      # None: nothing to do (a bot's post, an edit, not in a thread, ...)
    message.run_id                          # slack-thread-0612-143055-1a2b3c4d: the chat run it may start

Slash commands carry no thread, so a follow-up typed in a thread ("why did 15 fail?") arrives as an event:

- ``app_mention`` (``@batchorch classify them``): in a thread it continues the thread's conversation, outside one
  it starts a conversation in the thread of the mentioning message;
- ``message`` in a thread (``thread_ts`` set, a reply): continues the conversation only when the thread is one
  (the plugin checks the conversation store and its owner), so ordinary thread chatter starts nothing.

Posts by bots (the orchestrator's own replies) and edited, deleted or otherwise sub-typed messages are ignored.
The run id is derived from the message alone (workspace, channel, ``ts``): Slack's retries of an event
(``X-Slack-Retry-Num``) and the ``message`` + ``app_mention`` pair one mention produces name the same run, which
Airflow starts once. The text is data: it becomes the chat run's ``text``, nothing else is read from it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from airflow_provider_batchorch.core.chat.request_parser import clean_chat_text

EventKind = Literal["app_mention", "message"]


class SlackEvent(BaseModel):
    """The inner ``event`` of an ``event_callback`` (the fields the chat uses; the rest is ignored)."""

    model_config = ConfigDict(extra="ignore")

    type: str
    user: str | None = None
    text: str = ""
    ts: str | None = None
    thread_ts: str | None = None
    channel: str | None = None
    bot_id: str | None = None
    subtype: str | None = None


class ThreadMessage(BaseModel):
    """A verified Slack message the chat answers in its thread."""

    model_config = ConfigDict(frozen=True)

    kind: EventKind
    team_id: str
    channel_id: str
    user_id: str
    ts: str = Field(description="The message's own ts.")
    thread_ts: str = Field(description="The thread it belongs to (its own ts when it starts one).")
    text: str = Field(description="The message without its Slack markup (mentions dropped).")

    @property
    def needs_conversation(self) -> bool:
        """A plain thread reply continues only an existing conversation; a mention may start one."""
        return self.kind == "message"

    @property
    def run_id(self) -> str:
        return event_run_id(self.team_id, self.channel_id, self.ts)


def event_run_id(team_id: str, channel_id: str, ts: str) -> str:
    """``slack-thread-0612-143055-1a2b3c4d``: the same for every delivery of one message (retries, and the
    ``message`` + ``app_mention`` pair of a mention), another for any other message."""
    digest = hashlib.sha256(f"{team_id}:{channel_id}:{ts}".encode()).hexdigest()[:8]
    try:
        sent = datetime.fromtimestamp(float(ts), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError):
        sent = datetime.fromtimestamp(0, tz=timezone.utc)
    return f"slack-thread-{sent:%m%d-%H%M%S}-{digest}"


def thread_message(payload: dict[str, Any]) -> ThreadMessage | None:
    """The message an ``event_callback`` payload brings, or ``None`` when the chat has nothing to do with it."""
    if payload.get("type") != "event_callback" or not isinstance(payload.get("event"), dict):
        return None
    try:
        event = SlackEvent.model_validate(payload["event"])
    except ValidationError:
        return None
    team_id = payload.get("team_id")
    if event.type not in ("app_mention", "message") or event.bot_id or event.subtype:
        return None
    if not (team_id and event.user and event.channel and event.ts):
        return None
    if event.type == "message" and (not event.thread_ts or event.thread_ts == event.ts):
        return None  # not a reply in a thread: a conversation starts with the slash command or a mention
    text = clean_chat_text(event.text)
    if not text:
        return None
    return ThreadMessage(kind=event.type, team_id=str(team_id), channel_id=event.channel, user_id=event.user,
                         ts=event.ts, thread_ts=event.thread_ts or event.ts, text=text)
