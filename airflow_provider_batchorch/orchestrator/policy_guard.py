"""Every tool argument against the deployment's ``RequestPolicy``, before anything runs.

The checks are the chat requests' (``core.chat.request_policy.finalize_draft``): a tool call can no more widen
them than a chat message can. A call outside the policy raises ``PolicyRefusedError`` naming the rule and the fix.
"""

from __future__ import annotations

from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.chat.request_policy import (
    ParsedRequest,
    RequestDraft,
    RequestPolicy,
    finalize_draft,
)
from airflow_provider_batchorch.core.errors import InvalidConfError, PolicyRefusedError, UnknownAgentError
from airflow_provider_batchorch.core.models import BatchRequest
from airflow_provider_batchorch.core.registry import AgentRegistry, agent_key
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri

# The policy rule behind each refusal, and what the caller can do about it.
FIXES = {
    "bucket_not_allowed": "Use a CSV (and output) in an allowed bucket; the server's operator can allow more "
                          "buckets with BATCHORCH_CHAT_ALLOWED_BUCKETS.",
    "agent_not_allowed": "Pick one of the allowed agents listed (recommend_agents ranks them); the operator "
                         "enables agents with BATCHORCH_CHAT_ALLOWED_AGENTS.",
    "unknown_agent": "Use an agent name from the list (recommend_agents ranks them for your CSV).",
    "invalid_number": "Give a number inside the range named; the operator sets the caps with "
                      "BATCHORCH_CHAT_MAX_CONCURRENCY and BATCHORCH_CHAT_MAX_TIMEOUT_SECONDS.",
    "unsafe_output": "Leave output_uri empty (the output goes next to the batch) or give a new s3:// key in an "
                     "allowed bucket.",
    "csv_location": "Give the full s3://bucket/key.csv URI.",
    "missing_csv": "Give the full s3://bucket/key.csv URI.",
}
DEFAULT_FIX = "Correct the argument named and call the tool again."


def refuse(rule: str, message: str) -> PolicyRefusedError:
    return PolicyRefusedError(f"rule {rule}: {message}", hint=FIXES.get(rule, DEFAULT_FIX), details={"rule": rule})


def refusal(parsed: ParsedRequest) -> PolicyRefusedError:
    return refuse(parsed.reason or "invalid_request", parsed.question or "the request is not allowed")


def check_csv_uri(uri: str, policy: RequestPolicy, *, verb: str = "read") -> str:
    """An ``s3://bucket/key`` in an allowed bucket, or a refusal."""
    uri = uri.strip()
    try:
        bucket, key = parse_s3_uri(uri)
    except InvalidConfError:
        bucket, key = "", ""
    if not key:
        raise refuse("csv_location", f"{uri!r} is not an s3://bucket/key URI.")
    if not policy.bucket_allowed(bucket):
        raise refuse("bucket_not_allowed", f"this server may not {verb} s3://{bucket}: the allowed buckets are "
                     f"{policy.allowed_bucket_list()}.")
    return uri


def check_agent(name: str, registry: AgentRegistry, policy: RequestPolicy) -> AgentSpec:
    """The agent, if the policy allows it (a known agent without structured output is returned: the caller says
    it is not compatible); an agent outside ``allowed_agents`` or an unknown one is refused."""
    allowed = [spec.name for spec in policy.usable_agents(registry)]
    try:
        spec = registry.get(name)
    except UnknownAgentError as error:
        raise refuse("unknown_agent", f"{error.message} Allowed agents: {', '.join(allowed)}.") from None
    if policy.allowed_agents is not None and agent_key(spec.name) not in {agent_key(a) for a in policy.allowed_agents}:
        raise refuse("agent_not_allowed", f"the agent '{spec.name}' is not enabled on this server. Allowed agents: "
                     f"{', '.join(allowed)}.")
    return spec


def checked_request(draft: RequestDraft, registry: AgentRegistry, policy: RequestPolicy) -> BatchRequest:
    """The ``BatchRequest`` the ``batch_orchestrator`` DAG accepts, built by the chat requests' one gate."""
    parsed = finalize_draft(draft, registry, policy)
    if not parsed.ready:
        raise refusal(parsed)
    return parsed.request
