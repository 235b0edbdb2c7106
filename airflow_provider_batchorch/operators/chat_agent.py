"""``agent_request`` with the Batch Orchestrator Agent in front when an LLM is configured.

With a ``pydanticai`` connection (``llm_conn_id``, else ``BATCHORCH_CHAT_LLM_CONN_ID``, else ``pydanticai_default``
when it exists) the message is one turn of the thread's conversation (``orchestrator.chat_agent``): the model
analyses the CSV, recommends and validates the agent and plans the batch with the toolset's tools, under the
``RequestPolicy``. When it starts a batch, the batch is this chat run's pipeline (approval when large or costly,
execute, progress, results in the thread); otherwise its reply (a menu of options, a failure breakdown, a
status) is posted and the run ends. Without an LLM, or when the model fails, ``AgentRequestOperator``'s offline
parser answers as before.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_batchorch.core.chat.request_policy import RequestPolicy
from airflow_provider_batchorch.core.errors import ConversationOwnerError
from airflow_provider_batchorch.core.models import BatchRequest
from airflow_provider_batchorch.core.task_outputs import AgentRequestResult
from airflow_provider_batchorch.hooks.llm_connection import configured_llm_conn_id
from airflow_provider_batchorch.notifications.slack import SlackThread, slack_client
from airflow_provider_batchorch.operators.agent_request import AgentRequestOperator
from airflow_provider_batchorch.orchestrator.conversations import conversations_bucket

if TYPE_CHECKING:
    from airflow.sdk import Context

REPLY_XCOM_KEY = "orchestrator_reply"


class ChatAgentOperator(AgentRequestOperator):
    """:param user_id: / ``team_id``: who asked (the conversation is theirs); ``thread_ts``: the Slack thread of a
    follow-up; ``None``: the run's ``params.thread_ts`` (read as the string it is: native template rendering
    would turn ``1700000000.000001`` into a float), else a new conversation. The other parameters are
    ``AgentRequestOperator``'s."""

    template_fields: Sequence[str] = (*AgentRequestOperator.template_fields, "user_id", "team_id")

    def __init__(self, *, user_id: str | None = None, team_id: str | None = None, thread_ts: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.user_id = user_id
        self.team_id = team_id
        self.thread_ts = thread_ts

    def execute(self, context: Context) -> dict[str, Any]:
        conn_id = configured_llm_conn_id(self.llm_conn_id)
        if not conn_id or self.retry_of:
            return super().execute(context)
        try:
            turn, launcher = self.orchestrate(conn_id, context)
        except ConversationOwnerError as error:
            self.log.info("%s", error)
            thread_ts = _text(self.thread_ts or (context.get("params") or {}).get("thread_ts"))
            thread = SlackThread(slack_client(self.slack_conn_id), self.channel or None, thread_ts=thread_ts,
                                 response_url=self.response_url or None)
            if not thread.reply_to_command(str(error)):  # a thread message (Events API) has no response_url
                thread.post(str(error), fallback_to_command=False)
            return self.end_run(context, {"reply": str(error), "thread_ts": thread_ts})
        except Exception as error:  # the model is down or answers nonsense: the offline parser still works
            self.log.warning("The orchestrator agent failed (%s); using the offline parser", error)
            self.llm_conn_id = None
            return super().execute(context)
        if launcher.conf is None:  # an answer, a menu, a breakdown: nothing to run in this chat run
            return self.end_run(context, {"reply": turn.reply, "thread_ts": turn.thread_ts})
        plan = next((b.retry_plan for b in turn.conversation.batches if b.run_id == launcher.run_id), None)
        return AgentRequestResult(request=BatchRequest.model_validate(launcher.conf), thread_ts=turn.thread_ts,
                                  retry_plan=plan).model_dump(mode="json")

    def end_run(self, context: Context, reply: dict[str, Any]) -> dict[str, Any]:
        context["ti"].xcom_push(key=REPLY_XCOM_KEY, value=reply)
        self.skip(ti=context["ti"], tasks=self.get_direct_relatives(upstream=False))  # raises to end the run
        return reply

    def orchestrate(self, conn_id: str, context: Context) -> dict[str, Any]:
        from airflow_provider_batchorch.orchestrator.chat_agent import (
            PIPELINE_INSTRUCTIONS,
            ChatMessage,
            ChatOrchestrator,
            orchestrator_model,
        )
        from airflow_provider_batchorch.orchestrator.conversations import S3ConversationStore
        from airflow_provider_batchorch.orchestrator.launchers import ChatPipelineLauncher
        from airflow_provider_batchorch.orchestrator.tools import BatchToolset

        policy = RequestPolicy.model_validate(self.policy) if self.policy else RequestPolicy.from_env()
        launcher = ChatPipelineLauncher(context["ti"].dag_id, context["run_id"])
        toolset = BatchToolset(policy, launcher, registry=self.load_registry(policy), clients=self.hook.client_for)
        store = S3ConversationStore(self.hook.s3, conversations_bucket(policy))
        admins = frozenset(filter(None, (os.environ.get("BATCHORCH_SLACK_ADMINS") or "").replace(" ", "").split(",")))
        orchestrator = ChatOrchestrator(toolset, store, orchestrator_model(conn_id=conn_id),
                                        slack=slack_client(self.slack_conn_id), admins=admins,
                                        extra_instructions=PIPELINE_INSTRUCTIONS)
        thread_ts = self.thread_ts or (context.get("params") or {}).get("thread_ts")
        turn = orchestrator.handle(ChatMessage(text=str(self.text or ""), user_id=_text(self.user_id),
                                               team_id=_text(self.team_id), channel_id=_text(self.channel),
                                               thread_ts=_text(thread_ts)))
        return turn, launcher


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
