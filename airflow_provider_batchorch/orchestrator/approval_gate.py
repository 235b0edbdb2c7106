"""Large or costly batches wait for a person, outside the chat DAG too (MCP, embedded): the toolset estimates the
batch and, over ``ApprovalThresholds`` (``BATCHORCH_APPROVAL_MAX_ROWS`` / ``_MAX_COST_USD``), asks the approver of
the current call before anything starts.

The approver is the *person* at the client, never the model: the MCP tools set it (``APPROVER``) to an MCP
elicitation, a question the client shows its user; no tool argument can approve, so neither the model nor text
in a CSV or a chat can. Without an approver (a client that cannot ask) the batch is refused with
``ApprovalRequiredError``. The chat DAG has its own approval task (``BatchApprovalOperator``), so its launcher
skips this gate.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Callable

from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.batch_estimate import estimate_batch
from airflow_provider_batchorch.core.cost_estimate import ApprovalThresholds, approval_reasons, describe_estimate
from airflow_provider_batchorch.core.errors import ApprovalRequiredError
from airflow_provider_batchorch.core.llm_settings import llm_from_env
from airflow_provider_batchorch.core.models import BatchRequest, CsvProfile

Approver = Callable[[str], bool]  # the question -> whether the person approved
APPROVER: ContextVar[Approver | None] = ContextVar("batchorch_approver", default=None)
APPROVAL_HINT = ("Ask the user: an MCP client that supports elicitation shows them the question. Or run fewer rows, or "
         "send it through the chat (its approval waits in Airflow's Required Actions).")


def approval_question(request: BatchRequest, profile: CsvProfile, agent: AgentSpec,
                      thresholds: ApprovalThresholds) -> str | None:
    """The question to ask before starting this batch; ``None`` when it is under both thresholds."""
    from airflow_provider_batchorch.hooks.llm_connection import connection_model

    agent = llm_from_env(agent)
    estimate = estimate_batch(request, profile, agent, model=connection_model(agent))
    reasons = approval_reasons(estimate, thresholds)
    if not reasons:
        return None
    return (f"Start this batch on {request.csv_uri}? {describe_estimate(estimate)}; it needs a person's approval: "
            f"{'; '.join(reasons)}.")


def require_approval(question: str | None) -> None:
    """Return when nothing needs approving or the current call's approver said yes; refuse otherwise."""
    if question is None:
        return
    approver = APPROVER.get()
    if approver is None:
        raise ApprovalRequiredError(f"{question} Nobody could be asked, so it was not started.", hint=APPROVAL_HINT)
    if not approver(question):
        raise ApprovalRequiredError(f"{question} The user did not approve it, so it was not started.",
                                    hint="Change what the user asked to change (fewer rows, another agent) or "
                                         "ask them again.")
