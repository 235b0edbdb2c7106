"""The models of cost mode: what was submitted to a batch API, what came back, what each part cost."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

ExecutionMode = Literal["realtime", "batch_api", "auto"]
ResolvedMode = Literal["realtime", "batch_api"]
BatchProvider = Literal["openai", "bedrock"]
# The value of a stored answer's "source" that marks it as a batch-API answer (``AgentResult.reused_from``).
BATCH_API_SOURCE = "batch_api"


def answers_uri(prefix_uri: str) -> str:
    """The batch's own answer store: the batch job's valid answers, keyed like the result cache."""
    return f"{prefix_uri.rstrip('/')}/batch_api/answers/"


def plan_uri(prefix_uri: str) -> str:
    return f"{prefix_uri.rstrip('/')}/batch_api/plan.json"


def outcome_uri(prefix_uri: str) -> str:
    return f"{prefix_uri.rstrip('/')}/batch_api/outcome.json"


class BatchApiJob(BaseModel):
    """A submitted batch job and the rows it was asked, by ``custom_id`` (one per distinct agent input)."""

    provider: BatchProvider
    job_id: str = Field(description="OpenAI batch id, or the Bedrock model invocation job ARN")
    model: str
    keys: dict[str, str] = Field(default_factory=dict, description="custom_id -> the result cache key of the row's "
                                 "agent inputs (kept in plan.json; the trigger gets the job without them)")
    submitted_at: float = Field(description="Unix time of the submission")
    deadline_at: float = Field(description="Unix time after which the unanswered rows go to the real-time path")
    output_uri: str | None = Field(None, description="Bedrock: the S3 folder the job writes its output to")


class BatchApiOutcome(BaseModel):
    """What the batch job answered, after validation (``outcome.json`` next to the batch)."""

    status: str = Field(description="The job's final status, 'deadline' when it was not finished in time, or "
                        "'not_submitted' with the reason in ``note``")
    provider: BatchProvider | None = None
    job_id: str | None = None
    requests: int = Field(0, description="Distinct agent inputs submitted")
    answered: int = Field(0, description="Requests with a valid answer, written to the answer store")
    invalid: int = Field(0, description="Answers that failed the output schema: those rows go real time")
    failed: int = Field(0, description="Requests the job answered with an error (or not at all)")
    failure_reasons: dict[str, int] = Field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0
    note: str = ""


class ExecutionPart(BaseModel):
    """One part of a batch by how its rows were answered, with what it cost."""

    mode: ResolvedMode
    rows: int = Field(description="Output rows answered by this part")
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = Field(None, description="Tokens x the price table (batch API: the batch price); None "
                                   "when the model has no price")
