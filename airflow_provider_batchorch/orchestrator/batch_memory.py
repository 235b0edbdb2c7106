"""The batches a conversation started, kept in its stored conversation, so a toolset in another process (a
restarted MCP server, the next chat run) can still monitor them and read their results.

    memory = ConversationBatches(lambda: S3ConversationStore(s3, bucket),
                                 ConversationKey(team_id="mcp", channel_id="stdio", thread_ts="default"))
    toolset = BatchToolset(policy, launcher, memory=memory)

``BatchToolset`` calls ``remember`` for every batch it starts and ``recall`` for an execution ARN it did not start
itself; only the conversation's own batches are found (another conversation's ARN stays unknown).
"""

from __future__ import annotations

import threading
from typing import Callable

from airflow_provider_batchorch.orchestrator.conversations import (
    ConversationBatch,
    ConversationKey,
    ConversationStore,
    S3ConversationStore,
    conversations_bucket,
)
from airflow_provider_batchorch.orchestrator.tools import BatchToolset, StartedBatch


def toolset_conversations(toolset: BatchToolset) -> S3ConversationStore:
    """The conversations' store over the toolset's S3 client: ``conversations_bucket`` of its policy, else the
    embedded AWS's bucket (started now if the toolset runs it)."""
    embedded_bucket = toolset.aws_ready()
    return S3ConversationStore(toolset.client("s3"), conversations_bucket(toolset.policy, fallback=embedded_bucket))


def started_batch(batch: ConversationBatch) -> StartedBatch:
    """A stored batch as the toolset monitors it."""
    plan = None
    if batch.retry_plan is not None:
        from airflow_provider_batchorch.aws.retry_failed import RetryPlan

        plan = RetryPlan.model_validate(batch.retry_plan)
    return StartedBatch(batch.execution_arn, batch.run_id, batch.batch_id, batch.request, batch.started_at, plan)


def batch_record(batch: StartedBatch, dag_id: str) -> ConversationBatch:
    """A started batch as the conversation stores it."""
    return ConversationBatch(execution_arn=batch.execution_arn, run_id=batch.run_id, batch_id=batch.batch_id,
                             dag_id=dag_id, request=batch.request, started_at=batch.started_at,
                             retry_plan=batch.retry_plan.model_dump(mode="json") if batch.retry_plan else None)


class ConversationBatches:
    """``remember`` / ``recall`` over one conversation of a store (re-read each time: other processes add too).

    :param store: Returns the store (called when first needed: the embedded AWS may start only then).
    :param owner: The conversation's owner when it is new (the Airflow user of an MCP session, ...).
    """

    def __init__(self, store: Callable[[], ConversationStore], key: ConversationKey, *,
                 owner: str | None = None) -> None:
        self._store_factory = store
        self._store: ConversationStore | None = None
        self.key = key
        self.owner = owner
        self._lock = threading.Lock()

    def store(self) -> ConversationStore:
        if self._store is None:
            self._store = self._store_factory()
        return self._store

    def remember(self, batch: StartedBatch, dag_id: str) -> None:
        with self._lock:
            conversation = self.store().load(self.key, user_id=self.owner)
            if all(b.execution_arn != batch.execution_arn for b in conversation.batches):
                conversation.batches.append(batch_record(batch, dag_id))
                self.store().save(conversation)

    def recall(self, execution_arn: str) -> StartedBatch | None:
        """The conversation's batch ``execution_arn``; ``None`` when it is not this owner's conversation."""
        conversation = self.store().find(self.key)
        if conversation is not None and conversation.owner_user_id not in (None, self.owner):
            return None
        for batch in conversation.batches if conversation else ():
            if batch.execution_arn == execution_arn:
                return started_batch(batch)
        return None
