"""Human-in-the-loop approval of a large or costly batch, announced in the run's Slack thread."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.chat.replies import approval_message, approval_outcome_message, estimate_message
from airflow_provider_batchorch.core.batch_estimate import estimate_batch
from airflow_provider_batchorch.core.cost_estimate import ApprovalThresholds, approval_reasons, describe_estimate
from airflow_provider_batchorch.core.llm_settings import llm_from_env
from airflow_provider_batchorch.core.models import BatchRequest, CsvProfile
from airflow_provider_batchorch.hooks.llm_connection import connection_model
from airflow_provider_batchorch.notifications.slack import DEFAULT_SLACK_CONN_ID, SlackThread, slack_client

if TYPE_CHECKING:
    from airflow.sdk import Context


class BatchApprovalOperator(ApprovalOperator):
    """Estimate the batch's cost; above a row or cost threshold wait for a human to Approve or Reject it.

    Below both thresholds it returns at once (approved automatically). Above either, it posts the estimate and
    a link to Airflow's Required Actions page in the Slack thread and waits (``ApprovalOperator``); Reject, or no
    answer within ``response_timeout``, skips the batch.

    The cost uses the model the workers will call: the agent's own LLM, or the one ``BATCHORCH_LLM_MODEL``
    gives the built-in agents (``core.llm_settings``), as seen from this task's environment.

    :param profile: ``analyze_csv``'s ``profile`` (rows, sample rows). :param agent: ``validate_agent``'s ``agent``.
    :param request: The run's ``BatchRequest`` dump (input mapping). :param thresholds: ``ApprovalThresholds``
        fields; ``None`` reads ``BATCHORCH_APPROVAL_MAX_ROWS`` / ``_MAX_COST_USD``.
    :return: ``{"approved": True, "automatic": bool, "estimate": {...}}`` (a rejection skips downstream)
    """

    template_fields: Sequence[str] = (*ApprovalOperator.template_fields, "profile", "agent", "request", "channel",
                                      "thread_ts", "response_url")
    ui_color = "#fff4d6"

    def __init__(
        self,
        *,
        profile: dict[str, Any] | str,
        agent: dict[str, Any] | str,
        request: dict[str, Any] | str,
        thresholds: dict[str, Any] | None = None,
        slack_conn_id: str | None = DEFAULT_SLACK_CONN_ID,
        channel: str | None = None,
        thread_ts: str | None = None,
        response_url: str | None = None,
        response_timeout: timedelta | None = timedelta(hours=24),
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("subject", "Approve this batch?")
        super().__init__(defaults=ApprovalOperator.REJECT, response_timeout=response_timeout, **kwargs)
        self.profile = profile
        self.agent = agent
        self.request = request
        self.thresholds = thresholds
        self.slack_conn_id = slack_conn_id
        self.channel = channel
        self.thread_ts = thread_ts
        self.response_url = response_url

    def _thread(self) -> SlackThread:
        return SlackThread(slack_client(self.slack_conn_id), self.channel or None, thread_ts=self.thread_ts or None,
                           response_url=self.response_url or None)

    def execute(self, context: Context) -> Any:
        profile = CsvProfile.model_validate(self.profile)
        agent = llm_from_env(AgentSpec.model_validate(self.agent))
        request = BatchRequest.model_validate(self.request)
        estimate = estimate_batch(request, profile, agent, model=connection_model(agent))
        thresholds = ApprovalThresholds.model_validate(self.thresholds) if self.thresholds else ApprovalThresholds.from_env()
        reasons = approval_reasons(estimate, thresholds)
        self.log.info("%s; %s", describe_estimate(estimate), "needs approval: " + "; ".join(reasons) if reasons
                      else "below the approval thresholds")
        thread = self._thread()
        thread.post(estimate_message(profile, estimate, needs_approval=bool(reasons)))
        if not reasons:
            return {"approved": True, "automatic": True, "estimate": estimate.model_dump(mode="json")}
        self.subject = f"Run {agent.name} over {profile.row_count:,} rows of {request.csv_uri}?"
        self.body = (f"**{describe_estimate(estimate)}**\n\nApproval is needed because "
                     f"{'; '.join(reasons)}.\n\nOutput fields: {', '.join(request.output_fields) or 'all'}; "
                     f"concurrency {request.concurrency}.")
        thread.post(approval_message(reasons, self._approval_url(context)))
        return super().execute(context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        if "error" not in event:
            approved = ApprovalOperator.APPROVE in (event.get("chosen_options") or [])
            responder = (event.get("responded_by_user") or {}).get("name")
            self._thread().post(approval_outcome_message(approved, responder))
        result = super().execute_complete(context, event)  # a rejection skips downstream here
        return {"approved": True, "automatic": False, "responded_by": result.get("responded_by_user")}

    def _approval_url(self, context: Context) -> str | None:
        try:
            return self.generate_link_to_ui_from_context(context=context)
        except Exception:  # no [api] base_url configured: the message tells where to look instead
            return None
