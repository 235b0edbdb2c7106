"""Typed errors. Each carries a stable ``code`` and a ``hint`` that tells the user what to do.

``str(error)`` is one line: ``CODE: message. hint`` so that a CLI, a task log or a Slack reply can show it as is.
"""

from __future__ import annotations

from typing import Any


class BatchorchError(Exception):
    code: str = "BATCHORCH_ERROR"

    def __init__(self, message: str, *, hint: str = "", details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details or {}

    def __str__(self) -> str:
        text = f"{self.code}: {self.message}"
        if self.hint and not text.rstrip().endswith((".", "!", "?", ":")):
            text = text.rstrip() + "."
        if self.hint:
            text += f" {self.hint}"
        return " ".join(text.split())

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, "suggestion": self.hint, **self.details}


class InvalidConfError(BatchorchError):
    """The run configuration (DAG conf, CLI flags) is not valid."""

    code = "INVALID_CONF"


class UnsafeOutputUriError(InvalidConfError):
    """``output_uri`` or ``state_uri`` would write over the input, another run's files or each other."""

    code = "UNSAFE_OUTPUT_URI"


def invalid_conf(exc: Any, model: Any = None) -> InvalidConfError:
    """A pydantic ``ValidationError`` of a run request (``model``, default ``BatchRequest``) as one line."""
    if model is None:
        from airflow_provider_batchorch.core.models import BatchRequest as model
    problems = "; ".join(_describe_problem(error, model.model_fields) for error in exc.errors())
    if all(error["loc"][:1] == ("transforms",) for error in exc.errors()):
        return TransformRuleError(f"invalid run conf: {problems}.",
                                  hint="Fix that rule (README: Transformation rules, an example of each).")
    return InvalidConfError(
        f"invalid run conf: {problems}.",
        hint='Example: {"csv_uri": "s3://bucket/companies.csv", "agent": "company-enrichment-agent"}.',
    )


def _describe_problem(error: dict[str, Any], fields: dict[str, Any]) -> str:
    field = ".".join(str(part) for part in error["loc"]) or "conf"
    if error["type"] == "extra_forbidden":
        return f"{field}: unknown key (expected one of {', '.join(fields)})"
    if error["type"] == "missing":
        description = fields[field].description if field in fields else ""
        return f"{field}: required" + (f" ({description})" if description else "")
    return f"{field}: {error['msg'].removeprefix('Value error, ')} (got {error.get('input')!r})"


class PolicyRefusedError(BatchorchError):
    """A tool call asks for something the deployment's ``RequestPolicy`` does not allow (a bucket, an agent, a
    number over its cap). ``details["rule"]`` names the rule; nothing of the call has run."""

    code = "POLICY_REFUSED"


class CsvError(BatchorchError):
    """The CSV cannot be processed as it is. ``code`` names the exact problem."""

    code = "INVALID_CSV"

    def __init__(self, message: str, *, code: str | None = None, hint: str = "", details: dict | None = None):
        super().__init__(message, hint=hint, details=details)
        if code:
            self.code = code


class CsvNotFoundError(BatchorchError):
    code = "CSV_NOT_FOUND"


class UnknownAgentError(BatchorchError):
    code = "UNKNOWN_AGENT"


class IncompatibleAgentError(BatchorchError):
    """The agent exists but cannot be used for batch CSV output (no structured output)."""

    code = "INCOMPATIBLE_AGENT"


class RegistryError(BatchorchError):
    """A registry file or table entry is malformed."""

    code = "INVALID_REGISTRY"


class UntrustedAgentError(BatchorchError):
    """An agent from a registry a run request brought (not one an operator configured) would run code, call a
    target off the operator's allow-list, or replace a configured agent."""

    code = "UNTRUSTED_AGENT"


class MissingRequiredFieldError(BatchorchError):
    code = "MISSING_REQUIRED_FIELD"


class UnknownOutputFieldError(BatchorchError):
    code = "UNKNOWN_OUTPUT_FIELD"


class ExecutionFailedError(BatchorchError):
    """The Step Functions execution ended FAILED, TIMED_OUT or ABORTED."""

    code = "EXECUTION_FAILED"


class ProcessorNotReadyError(BatchorchError):
    code = "PROCESSOR_NOT_READY"


class AgentRowError(Exception):
    """Raised by an agent for one row: the row fails with this reason, the batch goes on.

    ``reason`` is short and groupable ("Website no longer active"), it is what the summary counts.
    """

    code = "AGENT_ERROR"

    def __init__(self, reason: str, *, detail: str = "") -> None:
        super().__init__(reason if not detail else f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class AgentCrashedError(AgentRowError):
    """The agent took its process down on this row (segfault, ``os._exit``) or tried to (``sys.exit``,
    ``KeyboardInterrupt``): the row fails, its supervised child process is replaced, the chunk goes on."""

    code = "AGENT_CRASHED"


class AgentTimeoutError(AgentRowError):
    """The agent did not answer this row within the batch's ``timeout_seconds`` (a hang, a blocked event loop)."""

    code = "AGENT_TIMEOUT"


class ConversationOwnerError(BatchorchError):
    """A chat message in a thread that belongs to another Slack user or workspace: conversations are bound to
    their owner like runs are (docs/security.md)."""

    code = "CONVERSATION_NOT_YOURS"


class BatchApiUnavailableError(InvalidConfError):
    """``execution_mode: batch_api`` for an agent whose model has no asynchronous batch API we can use."""

    code = "BATCH_API_UNAVAILABLE"


class StreamMessageError(AgentRowError):
    """A stream message that is not ``{"id": ..., "row": {...}}`` JSON: its row is answered FAILED with this code
    (core/stream/messages.py), the stream goes on."""

    code = "INVALID_STREAM_MESSAGE"


class StreamNotStartedError(BatchorchError):
    """A stream worker found no stream config (``<output_uri>stream.json``) to work from."""

    code = "STREAM_NOT_STARTED"


class UriTemplateError(InvalidConfError):
    """A ``csv_uri`` / ``output_uri`` template names something other than a data-interval value."""

    code = "INVALID_URI_TEMPLATE"


class EscalationError(RegistryError):
    """An agent's ``escalate_to`` cannot be used: the stronger agent is unknown among the trusted agents, has no
    structured output, lacks an output field of the cheap agent, or needs an input the cheap agent does not get."""

    code = "INVALID_ESCALATION"


class GoldenSampleError(InvalidConfError):
    """The golden sample (a labelled CSV) cannot be scored: unreadable, empty, or no column names an output field."""

    code = "INVALID_GOLDEN_SAMPLE"


class GoldenGateFailedError(BatchorchError):
    """The agent scored below the threshold on the golden sample; ``details["report"]`` is the per-field report.
    The batch stopped before any other row was called."""

    code = "GOLDEN_GATE_FAILED"


class TransformRuleError(InvalidConfError):
    """A transformation rule (``transforms`` of the run conf or the registry entry) names a column or field that
    is not there, or holds a template or expression that does not parse; found before any row runs."""

    code = "INVALID_TRANSFORM"


class TransformRowError(AgentRowError):
    """A transformation rule failed on one row (a cell that is not JSON, a value that does not cast, an expression
    that does not evaluate on it): that row fails, the batch goes on."""

    code = "TRANSFORM_FAILED"


class BatchApiJobError(BatchorchError):
    """The provider's batch API refused a request (upload, create, retrieve, file content) or is not there."""

    code = "BATCH_API_JOB_FAILED"


class SchedulePhraseError(InvalidConfError):
    """A recurring schedule asked for in words that do not make a valid cron ("every day at 25:00")."""

    code = "INVALID_SCHEDULE"


class ApprovalRequiredError(BatchorchError):
    """A batch over the approval thresholds (``BATCHORCH_APPROVAL_MAX_ROWS`` / ``_MAX_COST_USD``) that no person
    approved: it was not started."""

    code = "APPROVAL_REQUIRED"
