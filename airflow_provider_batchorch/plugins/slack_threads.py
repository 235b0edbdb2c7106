"""What the Slack events route does after it has answered Slack: continue a thread's conversation by starting a
``chat_command`` run with the thread's ``thread_ts`` (the orchestrator agent loads the conversation from the S3
store, answers in the thread and saves it again).

A plain thread reply (``message``) starts a run only when the thread is a stored conversation and the sender is
its owner (same Slack user and workspace) or an admin; anything else in a thread is ordinary chatter and is left
alone. A mention (``app_mention``) always starts a run: in someone else's thread the agent's operator refuses it
in the thread (``ConversationOwnerError``). The run id comes from the message (``ThreadMessage.run_id``), so
retries of the event and the ``message`` + ``app_mention`` pair of one mention start one run.
"""

from __future__ import annotations

import logging
from typing import Callable

from airflow_provider_batchorch.core.chat.slack_events import ThreadMessage
from airflow_provider_batchorch.core.errors import ConversationOwnerError
from airflow_provider_batchorch.orchestrator.conversations import ConversationKey, ConversationStore
from airflow_provider_batchorch.plugins.airflow_api import AirflowApiError
from airflow_provider_batchorch.plugins.chat_follow_ups import ChatFollowUps, SlashCommand

log = logging.getLogger(__name__)


class SlackThreads:
    """:param follow_ups: Triggers the chat DAG's runs (REST API, service credential).
    :param conversations: Returns the conversation store the chat DAG's orchestrator agent writes."""

    def __init__(self, follow_ups: ChatFollowUps, conversations: Callable[[], ConversationStore]) -> None:
        self.follow_ups = follow_ups
        self.conversations = conversations

    def continue_thread(self, message: ThreadMessage, *, admins: frozenset[str] = frozenset()) -> bool:
        """Start the message's chat run in its thread; ``False`` when it is not for the chat (or a repeat)."""
        if message.needs_conversation and not self._owned_conversation(message, admins):
            return False
        command = SlashCommand(text=message.text, start_run_id=message.run_id, user_id=message.user_id,
                               channel_id=message.channel_id, team_id=message.team_id)
        try:
            return self.follow_ups.trigger(command, thread_ts=message.thread_ts)
        except (AirflowApiError, OSError) as error:  # 409 (a repeat) is not an error: trigger() says False
            log.warning("Could not start the chat run %s for thread %s: %s", message.run_id, message.thread_ts, error)
            return False

    def _owned_conversation(self, message: ThreadMessage, admins: frozenset[str]) -> bool:
        key = ConversationKey(team_id=message.team_id, channel_id=message.channel_id, thread_ts=message.thread_ts)
        conversation = self.conversations().find(key)
        if conversation is None:
            return False
        try:
            conversation.check_owner(message.user_id, message.team_id, admins)
        except ConversationOwnerError:
            log.info("Slack user %s wrote in thread %s of another user's conversation: ignored", message.user_id,
                     message.thread_ts)
            return False
        return True
