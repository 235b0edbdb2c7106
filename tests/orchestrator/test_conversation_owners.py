"""Conversations kept in S3 (moto server): one per exact user name, and a conversation's batches are recalled only
by its owner, so two MCP-over-HTTP users never monitor or retry each other's batches."""

from __future__ import annotations

from datetime import datetime, timezone

from airflow_provider_batchorch.core.models import BatchRequest
from airflow_provider_batchorch.orchestrator.batch_memory import ConversationBatches
from airflow_provider_batchorch.orchestrator.conversations import ConversationKey, S3ConversationStore
from airflow_provider_batchorch.orchestrator.tools import StartedBatch

ARN = "arn:aws:states:us-east-1:123456789012:execution:batchorch:batch_orchestrator__r1"


def _memory(aws, user: str) -> ConversationBatches:  # as mcp_tools.mcp_memory builds it for an HTTP user
    store = S3ConversationStore(aws.client("s3"), aws.bucket)
    return ConversationBatches(lambda: store, ConversationKey(team_id="mcp", channel_id="http", thread_ts=user),
                               owner=user)


def _batch() -> StartedBatch:
    request = BatchRequest(csv_uri="s3://b/in.csv", agent="company-enrichment-agent")
    return StartedBatch(ARN, "r1", "batch_orchestrator__r1", request, datetime.now(timezone.utc), None)


def test_users_whose_names_differ_only_in_unsafe_characters_have_their_own_conversations(embedded_aws):
    john_plus, john_underscore = _memory(embedded_aws, "john+1@x.com"), _memory(embedded_aws, "john_1@x.com")
    assert john_plus.key.object_key() != john_underscore.key.object_key()
    assert john_plus.key.object_key().startswith("batchorch/conversations/mcp/http/john_1_x.com~")  # readable
    john_plus.remember(_batch(), "batch_orchestrator")

    assert john_plus.recall(ARN) is not None
    assert john_underscore.recall(ARN) is None  # another user's batch stays unknown
    john_underscore.remember(_batch(), "batch_orchestrator")  # their own conversation, not a ConversationOwnerError


def test_a_conversation_is_recalled_only_by_its_owner(embedded_aws):
    """Even where one key holds another owner's conversation (stored before keys hashed names), recall finds
    nothing for anyone but that owner."""
    ada = _memory(embedded_aws, "ada")
    ada.remember(_batch(), "batch_orchestrator")
    intruder = ConversationBatches(ada.store, ada.key, owner="eve")
    assert intruder.recall(ARN) is None
    assert ada.recall(ARN) is not None


def test_slack_conversation_keys_stay_where_stored_ones_are():
    key = ConversationKey(team_id="T1", channel_id="C1", thread_ts="1700000000.000001")
    assert key.object_key() == "batchorch/conversations/T1/C1/1700000000.000001.json"
    assert ConversationKey(team_id="mcp", channel_id="stdio", thread_ts="default").object_key() == \
        "batchorch/conversations/mcp/stdio/default.json"
