"""The cost estimate of one batch: its request, CSV profile and agent, before any row is sent.

The analyze/validate step logs it and pushes it (``ValidateResult.cost_estimate``), ``configure_batch`` keeps it
in the ``BatchConfig`` (so the summary, the job record and the dashboard can set the actual cost against it),
the approval step and ``batchorch run`` print it.
"""

from __future__ import annotations

from collections.abc import Mapping

from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.cascade_estimate import with_escalations
from airflow_provider_batchorch.core.cost_estimate import EXECUTION_MODES, CostEstimate, ExecutionMode, estimate_cost
from airflow_provider_batchorch.core.errors import BatchorchError
from airflow_provider_batchorch.core.mapping import map_inputs
from airflow_provider_batchorch.core.models import BatchRequest, CsvProfile


def requested_mode(request: BatchRequest) -> ExecutionMode:
    """The request's ``execution_mode`` when it is one the price table knows; otherwise ``realtime``."""
    mode = getattr(request, "execution_mode", None)
    return mode if mode in EXECUTION_MODES else "realtime"


def estimate_batch(request: BatchRequest, profile: CsvProfile, agent: AgentSpec, *, model: str | None = None,
                   input_mapping: Mapping[str, str] | None = None,
                   escalation_rate: float | None = None) -> CostEstimate:
    """:param model: The LLM the workers will call when the agent names none (its connection's model).
    :param input_mapping: The resolved mapping (agent field -> column); default: resolved here as
        ``configure_batch`` will (the request's own when it does not resolve: ``configure_batch`` says why).
    :param escalation_rate: A cascade agent's expected share of escalated rows (a golden sample's); None: the
        estimate is a range (``core/cascade_estimate.py``)."""
    if input_mapping is None:
        try:
            input_mapping = map_inputs(agent, profile.columns, request.input_mapping)
        except BatchorchError:
            input_mapping = request.input_mapping
    def priced(spec: AgentSpec) -> CostEstimate:
        return estimate_cost(spec, rows=profile.row_count, sample_rows=profile.sample_rows,
                             input_mapping=input_mapping, model=model, execution_mode=requested_mode(request))

    estimate = priced(agent)
    if agent.escalation_agent is None:
        return estimate
    return with_escalations(estimate, priced(agent.escalation_agent), escalation_rate)
