"""The estimate of a cascade agent (``escalate_to``): the cheap agent on every row plus the strong one on the rows
expected to escalate.

With a known escalation rate (the share of a golden sample's rows that escalated, ``GoldenReport.rows_escalated``)
the cost is ``cheap + rate x strong``. Without one it is a range: from the cheap agent alone (no row escalates,
``cost_usd``) to the cheap agent plus the strong agent on every row (``cost_usd_max``), which the approval
thresholds are held against.
"""

from __future__ import annotations

from airflow_provider_batchorch.core.cost_estimate import CostEstimate, format_usd


def _plus(cheap: float | None, strong: float | None, share: float) -> float | None:
    return None if cheap is None or strong is None else round(cheap + share * strong, 4)


def with_escalations(cheap: CostEstimate, strong: CostEstimate, escalation_rate: float | None) -> CostEstimate:
    """``cheap``'s estimate with the strong agent's ``strong`` added (see the module)."""
    mode = cheap.execution_mode
    if escalation_rate is not None:
        by_mode = {m: _plus(cost, strong.cost_usd_by_mode.get(m), escalation_rate)
                   for m, cost in cheap.cost_usd_by_mode.items()}
        basis = (f"{cheap.basis}; plus {escalation_rate:.0%} of rows escalated to {strong.agent} (the golden "
                 f"sample's rate): {strong.basis}")
        return cheap.model_copy(update={"cost_usd_by_mode": by_mode, "cost_usd": by_mode.get(mode, cheap.cost_usd),
                                        "basis": basis})
    most = _plus(cheap.cost_usd, strong.cost_usd_by_mode.get(mode), 1.0)
    basis = (f"{cheap.basis}; escalation rate unknown: from {format_usd(cheap.cost_usd)} (no row escalates) to "
             f"{format_usd(most)} (every row also answered by {strong.agent}: {strong.basis})")
    return cheap.model_copy(update={"cost_usd_max": most, "basis": basis})
