"""Step 2c: with ``golden_on_fail: ask``, a person sees the failed golden-sample report and approves or rejects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow_provider_batchorch.core.golden_gate.report import report_text
from airflow_provider_batchorch.core.task_outputs import GoldenGateResult

if TYPE_CHECKING:
    from airflow.sdk import Context


class GoldenApprovalOperator(ApprovalOperator):
    """Returns at once unless ``golden_gate`` said ``needs_approval``; then waits (Airflow's Required Actions, the
    ``ApprovalOperator``) with the per-field report as the body. Approve: the batch runs. Reject, or no answer
    within ``response_timeout``: the task fails and the batch does not run (as with ``golden_on_fail: stop``).

    :param gate: ``golden_gate``'s ``GoldenGateResult`` dump.
    :return: ``{"approved": True, "automatic": bool, ...}`` (a rejection fails the task)
    """

    template_fields: Sequence[str] = (*ApprovalOperator.template_fields, "gate")
    ui_color = "#f3eaf7"

    def __init__(self, *, gate: dict[str, Any] | str, response_timeout: timedelta | None = timedelta(hours=24),
                 **kwargs: Any) -> None:
        kwargs.setdefault("subject", "The agent failed its golden sample: run the batch anyway?")
        kwargs.setdefault("fail_on_reject", True)  # a rejected gate stops the batch like golden_on_fail: stop
        super().__init__(defaults=ApprovalOperator.REJECT, response_timeout=response_timeout, **kwargs)
        self.gate = gate

    def execute(self, context: Context) -> Any:
        result = GoldenGateResult.model_validate(self.gate)
        if not result.needs_approval or result.report is None:
            return {"approved": True, "automatic": True}
        report = result.report
        self.subject = (f"{report.agent} scored below {report.min_accuracy:.0%} on "
                        f"{', '.join(report.failing_fields())}: run the batch anyway?")
        self.body = f"```\n{report_text(report)}\n```\n\nApprove runs the batch; Reject skips it."
        return super().execute(context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        result = super().execute_complete(context, event)  # a rejection raises HITLRejectException here
        return {"approved": True, "automatic": False, "responded_by": result.get("responded_by_user")}
