"""What each batch task returns, as a model, and the task ids: one place to follow a value from task to task.

An operator returns ``Result(...).model_dump(mode="json")``; the next task gets a field of it through a template
(``dag_builders.xcom_templates.output_of(task, "field", ...)``, which checks the path against these models when
the DAG is built) and validates it back (``BatchRequest.model_validate``, ``AgentSpec.model_validate``...).
A stored XCom may come back with its dict keys in another order (Postgres JSONB): nothing here relies on key
order (``AgentSpec.output_field_order`` keeps the schema's).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.golden_gate.report import GoldenReport
from airflow_provider_batchorch.core.cost_estimate import CostEstimate
from airflow_provider_batchorch.core.models import BatchConfig, BatchRequest, BatchSummary, CsvProfile
from airflow_provider_batchorch.core.stages import StagePlan

# Task ids (inside a TaskGroup Airflow prefixes them: "stage_1.analyze_csv").
ANALYZE_CSV = "analyze_csv"
VALIDATE_AGENT = "validate_agent"
GOLDEN_GATE = "golden_gate"
GOLDEN_APPROVAL = "golden_approval"
CONFIGURE_BATCH = "configure_batch"
BATCH_API_JOB = "batch_api_job"
EXECUTE_BATCH = "execute_batch"
MONITOR_BATCH = "monitor_batch"
GET_RESULTS = "get_results"
PLAN_PIPELINE = "plan_pipeline"
STAGE_INPUT = "stage_input"
AGENT_REQUEST = "agent_request"
APPROVE_BATCH = "approve_batch"
REPORT_PROGRESS = "report_progress"
MERGE_RETRY = "merge_retry"
POST_RESULTS = "post_results"

# XCom keys besides the return value.
QUESTION_XCOM_KEY = "question"  # agent_request's clarifying question (the run then ends)


class AnalyzeResult(BaseModel):
    """``analyze_csv``: the validated request and a small profile (the full one, chunks included, is in S3)."""

    request: BatchRequest
    profile: CsvProfile = Field(description="Without chunks")
    profile_uri: str = Field(description="The full profile in S3, chunk offsets included")
    batch_id: str
    prefix_uri: str = Field(description="s3://bucket/prefix/ where the batch's files live")


class ValidateResult(BaseModel):
    """``validate_agent``: the resolved agent and what the registry says about it."""

    agent: AgentSpec
    description: dict[str, Any] = Field(description="``AgentRegistry.describe``: fields, compatibility")
    cost_estimate: CostEstimate | None = Field(None, description="Before any row is sent; None without the CSV profile")


class GoldenGateResult(BaseModel):
    """``golden_gate``: the per-field report of the agent on the golden sample (None: the batch names none)."""

    report: GoldenReport | None = None
    needs_approval: bool = Field(False, description="Below the threshold with golden_on_fail: ask")
    cost_estimate: CostEstimate | None = Field(None, description="validate_agent's, or for a cascade agent with a "
                                               "sample: priced at the sample's escalation rate")


class ConfigureResult(BaseModel):
    """``configure_batch``: the resolved batch config (also ``config.json`` in S3) and its chunk manifest."""

    config: BatchConfig
    manifest_uri: str


class AgentRequestResult(BaseModel):
    """``agent_request``, when the request was clear: the run conf of the batch."""

    request: BatchRequest
    notes: list[str] = Field(default_factory=list)
    thread_ts: str | None = Field(None, description="The Slack thread the run replies in")
    schedule: str | None = None
    retry_plan: dict[str, Any] | None = Field(None, description="A ``RetryPlan`` dump when the run retries a batch")


class PlannedStage(StagePlan):
    batch_id: str = Field(description="Names this stage's batch (its S3 prefix and execution)")


class PipelinePlan(BaseModel):
    """``plan_pipeline``: every stage's request, batch id and renames."""

    pipeline_id: str
    stage_count: int
    stages: list[PlannedStage]


ExecuteResult = str  # ``execute_batch`` returns the execution ARN

# The return value of each task, by task id (a ``str`` is a plain value, no fields).
TASK_OUTPUTS: dict[str, type[BaseModel] | type] = {
    ANALYZE_CSV: AnalyzeResult,
    VALIDATE_AGENT: ValidateResult,
    GOLDEN_GATE: GoldenGateResult,
    CONFIGURE_BATCH: ConfigureResult,
    EXECUTE_BATCH: str,
    GET_RESULTS: BatchSummary,
    PLAN_PIPELINE: PipelinePlan,
    STAGE_INPUT: str,
    AGENT_REQUEST: AgentRequestResult,
}
