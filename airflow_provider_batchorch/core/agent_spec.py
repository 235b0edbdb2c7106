"""The registry entry of an agent: what it needs, what it returns (a JSON Schema), and how it is called."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_serializer, model_validator

from airflow_provider_batchorch.core.callable_paths import current_callable
from airflow_provider_batchorch.core.transforms.rules import TransformRules
from airflow_provider_batchorch.core.escalation_rule import EscalationRule


class InputField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    type: Literal["string", "integer", "number", "boolean"] = "string"
    required: bool = True
    description: str = ""
    synonyms: list[str] = Field(default_factory=list, description="Other column names that mean this field")


TRUSTED_CALLABLE_PREFIX = "airflow_provider_batchorch.builtin_agents."


class PythonInvocation(BaseModel):
    """``callable`` is ``"module:function"``; the function takes the mapped row (a dict) and returns a dict.

    ``isolation``: ``process`` runs the callable in a supervised child process pool (a crash, exit or hang costs
    that one row: ``agents/agent_process_pool.py``); ``none`` runs it in the worker's own process (fastest; for pure,
    trusted code). Unset: ``none`` for the built-in agents (``airflow_provider_batchorch.builtin_agents...``),
    ``process`` for every other callable. Unset is left out of the dump, so cache keys stay as they were.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["python"] = "python"
    callable: str
    isolation: Literal["process", "none"] | None = None

    @property
    def effective_isolation(self) -> Literal["process", "none"]:
        if self.isolation is not None:
            return self.isolation
        return "none" if current_callable(self.callable).startswith(TRUSTED_CALLABLE_PREFIX) else "process"

    @model_serializer(mode="wrap")
    def _omit_unset_isolation(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        if isinstance(data, dict) and data.get("isolation") is None:
            data.pop("isolation", None)
        return data


class LlmInvocation(BaseModel):
    """An LLM through pydantic-ai, with the agent's output JSON Schema as the structured output contract.

    ``model`` is a pydantic-ai model string: ``"openai:gpt-4.1-mini"``, ``"bedrock:anthropic.claude-..."``,
    a bare name served by ``base_url`` (any OpenAI-compatible server: vLLM, Ollama, a gateway), or ``"test"``
    (offline, schema-valid output). Credentials: the ``api_key_env`` environment variable, or the Airflow
    ``pydanticai`` connection ``conn_id`` (``password`` = key, ``host`` = base URL, ``extra.model``).
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["llm"] = "llm"
    model: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    conn_id: str | None = None
    region: str | None = Field(default=None, description="AWS region of a bedrock: model")
    max_retries: int = Field(default=1, ge=0, le=5, description="Re-asks with the validation error, then the row fails")
    temperature: float | None = None
    max_tokens: int | None = Field(default=None, gt=0)
    output_mode: Literal["tool", "native", "prompted"] = Field(
        default="tool", description="tool calling, the server's JSON-schema response format, or prompt + parse"
    )
    request_timeout: float = Field(default=120.0, gt=0, description="Seconds for one HTTP request to the model")
    max_attempts: int = Field(default=6, ge=1, le=20, description="Attempts per row when throttled or on a transient fault")
    max_concurrency: int = Field(default=64, ge=1, description="Upper bound of the adaptive in-flight limit per worker")

    @model_validator(mode="after")
    def _model_or_connection(self) -> "LlmInvocation":
        if not self.model and not self.conn_id:
            raise ValueError("an llm invocation needs a model, or a conn_id whose extra names the model")
        return self


class LambdaInvocation(BaseModel):
    """A deployed AWS Lambda function, invoked RequestResponse with the mapped row as its JSON payload."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["lambda"] = "lambda"
    function_name: str
    qualifier: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    max_attempts: int = Field(default=6, ge=1, le=20, description="Attempts per row when throttled or on a transient fault")


class StepFunctionsInvocation(BaseModel):
    """A deployed agent state machine: started with the mapped row as input, polled until it ends.

    The execution output is the agent's output, or its ``structured_output`` field when it has one.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["stepfunctions"] = "stepfunctions"
    state_machine_arn: str
    timeout_seconds: float = Field(default=300.0, gt=0, description="Stop the execution and fail the row after this")
    poll_interval_seconds: float = Field(default=0.5, gt=0, description="First poll interval; doubles up to 5 s")
    region: str | None = None
    endpoint_url: str | None = None
    max_attempts: int = Field(default=6, ge=1, le=20, description="Attempts to start an execution when throttled")


Invocation = Annotated[
    Union[PythonInvocation, LlmInvocation, LambdaInvocation, StepFunctionsInvocation], Field(discriminator="kind")
]


class AgentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    version: str = "1"
    description: str = ""
    capabilities: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list, description="Other names users call this agent by")
    input_fields: list[InputField]
    structured_output: bool = True
    output_schema: dict[str, Any] | None = None
    output_field_order: list[str] = Field(
        default_factory=list,
        description="The output fields in column order; empty: the schema's properties in the order they are written. "
        "Filled when the spec is first loaded, so the order survives stores that reorder JSON keys (JSONB XCom).",
    )
    prompt: str = ""
    invocation: Invocation
    transforms: TransformRules | None = Field(None, description="Default transformation rules; a run conf's extend "
                                              "and override them (core/transforms/rules.py)")
    escalate_to: str | None = Field(None, description="A stronger trusted agent (registry name) that answers the rows "
                                    "escalate_when picks (core/cascade_call.py)")
    escalate_when: EscalationRule | None = Field(None, description="Which rows escalate (core/escalation_rule.py)")
    escalation_agent: "AgentSpec | None" = Field(
        None, description="escalate_to as the registry resolved it, among trusted agents only; never from an entry")

    @model_validator(mode="after")
    def _escalation_has_target_and_rule(self) -> "AgentSpec":
        if (self.escalate_to is None) != (self.escalate_when is None):
            raise ValueError("escalate_to and escalate_when go together: name the stronger agent and the rule")
        return self

    @model_serializer(mode="wrap")
    def _omit_unset_escalation(self, handler: Any) -> dict[str, Any]:
        """An agent without a cascade dumps as before (XCom, config.json, cache keys stay as they were)."""
        data = handler(self)
        if isinstance(data, dict):
            for name in ("escalate_to", "escalate_when", "escalation_agent", "transforms"):
                if data.get(name) is None:
                    data.pop(name, None)
        return data

    @model_validator(mode="after")
    def _fix_output_field_order(self) -> "AgentSpec":
        properties = list((self.output_schema or {}).get("properties", {}))
        unknown = [name for name in self.output_field_order if name not in properties]
        if unknown:
            raise ValueError(f"output_field_order names fields the output_schema does not have: {unknown}")
        if not self.output_field_order:
            self.output_field_order = properties
        return self

    @property
    def output_fields(self) -> list[str]:
        """Top-level properties of the output schema, in ``output_field_order`` (the schema's own order when the
        spec was first loaded), whatever order the ``properties`` dict has now."""
        properties = (self.output_schema or {}).get("properties", {})
        ordered = [name for name in dict.fromkeys(self.output_field_order) if name in properties]
        return ordered + [name for name in properties if name not in ordered]

    @property
    def required_inputs(self) -> list[InputField]:
        return [f for f in self.input_fields if f.required]

    @property
    def is_structured(self) -> bool:
        schema = self.output_schema or {}
        return self.structured_output and schema.get("type") == "object" and bool(schema.get("properties"))
