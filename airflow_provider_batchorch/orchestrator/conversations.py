"""A Slack thread is one conversation: its model messages and the batches it started, kept in S3 so a follow-up
("why did 15 fail?", "retry the failed ones", "status") works after any Airflow component restarted.

    store = S3ConversationStore(s3_client, bucket)
    conversation = store.load(ConversationKey(team_id="T1", channel_id="C1", thread_ts="1700000000.000001"),
                              user_id="U1")
    ...
    store.save(conversation)

The object is ``s3://<bucket>/batchorch/conversations/<team>/<channel>/<thread_ts>.json``. A conversation is bound
to the Slack user and workspace that started it, like runs are (docs/security.md): another user's message in the
thread is refused (``ConversationOwnerError``) unless that user is an admin (``BATCHORCH_SLACK_ADMINS``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import datetime, timezone
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from airflow_provider_batchorch.core.chat.request_policy import ANY_BUCKET, RequestPolicy
from airflow_provider_batchorch.core.errors import BatchorchError, ConversationOwnerError
from airflow_provider_batchorch.core.models import BatchRequest
from airflow_provider_batchorch.core.output_location import CONVERSATIONS_KEY_PREFIX

CONVERSATIONS_PREFIX = CONVERSATIONS_KEY_PREFIX  # named in core: output_uri may not write in it
CONVERSATIONS_BUCKET_ENV = "BATCHORCH_CONVERSATIONS_BUCKET"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class ConversationKey(BaseModel):
    model_config = ConfigDict(frozen=True)

    team_id: str = "local"
    channel_id: str = "local"
    thread_ts: str

    def object_key(self) -> str:
        parts = [_key_part(part) for part in (self.team_id, self.channel_id, self.thread_ts)]
        return f"{CONVERSATIONS_PREFIX}{parts[0]}/{parts[1]}/{parts[2]}.json"


def _key_part(part: str) -> str:
    """``part`` itself when it is made of ``[A-Za-z0-9_.-]`` (Slack ids and thread stamps: stored keys stay as they
    were), else a readable form plus a hash of the exact text after ``~`` (a character no kept part has), so two
    names never share a key: ``john+1@x.com`` and ``john_1@x.com`` are two MCP users."""
    readable = _UNSAFE.sub("_", part)
    if readable and readable == part:
        return part
    return f"{readable or '_'}~{hashlib.sha256(part.encode('utf-8')).hexdigest()[:32]}"


class ConversationBatch(BaseModel):
    """A batch the conversation started (what ``BatchToolset`` needs to monitor it from another process)."""

    execution_arn: str
    run_id: str
    batch_id: str
    dag_id: str
    request: BatchRequest
    started_at: datetime
    retry_plan: dict[str, Any] | None = Field(None, description="A RetryPlan dump: the batch reruns failed rows")


class Conversation(BaseModel):
    key: ConversationKey
    owner_user_id: str | None = None
    owner_team_id: str | None = None
    messages: list[Any] = Field(default_factory=list, description="pydantic-ai ModelMessagesTypeAdapter JSON.")
    batches: list[ConversationBatch] = Field(default_factory=list)
    updated_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))

    def check_owner(self, user_id: str | None, team_id: str | None, admins: frozenset[str] = frozenset()) -> None:
        """Refuse a message from anyone but the conversation's owner (or an admin)."""
        if self.owner_user_id is None or (user_id and user_id in admins):
            return
        if user_id != self.owner_user_id or (self.owner_team_id and team_id != self.owner_team_id):
            raise ConversationOwnerError(
                "this thread's conversation belongs to another Slack user; it acts only on their batches.",
                hint="Start your own request with the slash command (a new thread), or ask an admin "
                     "(BATCHORCH_SLACK_ADMINS).")


class ConversationStore(Protocol):
    def load(self, key: ConversationKey, *, user_id: str | None = None, team_id: str | None = None,
             admins: frozenset[str] = frozenset()) -> Conversation: ...

    def find(self, key: ConversationKey) -> Conversation | None: ...

    def save(self, conversation: Conversation) -> None: ...


class S3ConversationStore:
    """Conversations as JSON objects under ``batchorch/conversations/`` of the batch bucket."""

    def __init__(self, s3, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    def load(self, key: ConversationKey, *, user_id: str | None = None, team_id: str | None = None,
             admins: frozenset[str] = frozenset()) -> Conversation:
        """The stored conversation (its owner checked), or a new one owned by ``user_id``."""
        conversation = self.find(key)
        if conversation is None:
            return Conversation(key=key, owner_user_id=user_id, owner_team_id=team_id)
        conversation.check_owner(user_id, team_id, admins)
        return conversation

    def find(self, key: ConversationKey) -> Conversation | None:
        """The stored conversation, or ``None`` when the thread has none (its owner is not checked here)."""
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=key.object_key())["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        return Conversation.model_validate_json(body)

    def save(self, conversation: Conversation) -> None:
        conversation.updated_at = datetime.now(timezone.utc)
        self.s3.put_object(Bucket=self.bucket, Key=conversation.key.object_key(),
                           Body=conversation.model_dump_json().encode("utf-8"), ContentType="application/json")

    def uri(self, key: ConversationKey) -> str:
        return f"s3://{self.bucket}/{key.object_key()}"


def conversations_bucket(policy: RequestPolicy, environ=None, *, fallback: str | None = None) -> str:
    """``BATCHORCH_CONVERSATIONS_BUCKET``, else the policy's default bucket, else its first allowed bucket, else
    ``fallback`` (the embedded AWS's bucket)."""
    environ = os.environ if environ is None else environ
    bucket = environ.get(CONVERSATIONS_BUCKET_ENV) or policy.default_bucket or next(
        (b for b in policy.allowed_buckets if b != ANY_BUCKET), None) or fallback
    if not bucket:
        raise BatchorchError("no bucket for the chat conversations.",
                             hint=f"Set {CONVERSATIONS_BUCKET_ENV} (or BATCHORCH_CHAT_DEFAULT_BUCKET).")
    return bucket


def messages_json(messages) -> list[Any]:
    """pydantic-ai messages as plain JSON (``ModelMessagesTypeAdapter``)."""
    from pydantic_ai.messages import ModelMessagesTypeAdapter

    return json.loads(ModelMessagesTypeAdapter.dump_json(messages))


def messages_from_json(data: list[Any]):
    from pydantic_ai.messages import ModelMessagesTypeAdapter

    return ModelMessagesTypeAdapter.validate_python(data)
