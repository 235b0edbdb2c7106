"""Which agent registries may bring code, and what an agent named by a run request may call.

Trusted (set by whoever deploys Airflow): the built-in agents, the registry files the deployment configured --
the DAG factory's ``registry_files`` (the DAG author) and ``BATCHORCH_REGISTRY_FILES`` (the operator, in the
environment where the tasks run) -- and the DynamoDB AgentRegistry table. Untrusted: a registry that a run
request brings, i.e. the run conf's ``registry`` key (a chat request or an API call end up as such a conf),
unless it names one of the configured files.

An agent from an untrusted registry

- runs no code of its own: ``invocation.kind: python`` is refused;
- calls only what the operator allow-listed in ``BATCHORCH_ALLOWED_AGENT_TARGETS`` (comma-separated glob
  patterns; unset = nothing): an llm's ``model``, ``base_url``, ``conn:<conn_id>`` and ``env:<api_key_env>``;
  a lambda's ``function_name``; a state machine's ``state_machine_arn``; and any ``endpoint_url``;
- replaces no trusted agent: its name and aliases must not be a trusted agent's name or alias.

A refusal is an ``UntrustedAgentError`` (``UNTRUSTED_AGENT``), raised while the registry is assembled, before
any row runs. ``agents/registry_loader.assemble_registry`` is the one way the DAGs and the CLI build a
registry.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from pathlib import Path
from typing import Mapping

from pydantic import BaseModel, ConfigDict, Field

from airflow_provider_batchorch.core.agent_spec import (
    AgentSpec,
    LambdaInvocation,
    LlmInvocation,
    PythonInvocation,
    StepFunctionsInvocation,
)
from airflow_provider_batchorch.core.errors import RegistryError, UntrustedAgentError
from airflow_provider_batchorch.core.registry import AgentRegistry, agent_key, load_registry_text, read_registry_file

REGISTRY_FILES_ENV = "BATCHORCH_REGISTRY_FILES"
ALLOWED_AGENT_TARGETS_ENV = "BATCHORCH_ALLOWED_AGENT_TARGETS"

_CONFIGURED_REGISTRY = (f"a configured registry ({REGISTRY_FILES_ENV}, the DAG's registry_files, "
                        "or the AgentRegistry table)")


def _listed(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def _source_key(source: str) -> str:
    """How registry sources are compared: S3 URIs as written, local paths resolved."""
    source = source.strip()
    return source if source.startswith("s3://") else str(Path(source).expanduser().resolve())


class RegistryTrust(BaseModel):
    """What the deployment trusts. Read from the environment in one place: ``RegistryTrust.from_env``."""

    model_config = ConfigDict(frozen=True)

    registry_files: list[str] = Field(
        default_factory=list, description="Registry files (local paths or s3://) whose agents are trusted")
    allowed_agent_targets: list[str] = Field(
        default_factory=list, description="Glob patterns of what agents from a run request's registry may call")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *,
                 registry_files: Iterable[str | None] = ()) -> "RegistryTrust":
        """``registry_files`` (the DAG author's, or the local CLI owner's), then ``BATCHORCH_REGISTRY_FILES``;
        the allow-list from ``BATCHORCH_ALLOWED_AGENT_TARGETS``."""
        environ = os.environ if environ is None else environ
        files = [f.strip() for f in registry_files if f and f.strip()]
        files += _listed(environ.get(REGISTRY_FILES_ENV, ""))
        unique: dict[str, str] = {}
        for file in files:
            unique.setdefault(_source_key(file), file)
        targets = _listed(environ.get(ALLOWED_AGENT_TARGETS_ENV, ""))
        return cls(registry_files=list(unique.values()), allowed_agent_targets=targets)

    def is_configured(self, source: str) -> bool:
        return _source_key(source) in {_source_key(f) for f in self.registry_files}

    def target_allowed(self, target: str) -> bool:
        return any(fnmatch.fnmatchcase(target, pattern) for pattern in self.allowed_agent_targets)


def agent_targets(spec: AgentSpec) -> list[tuple[str, str]]:
    """``(what, value)`` of everything outside the worker that the agent's invocation calls or reads."""
    invocation = spec.invocation
    if isinstance(invocation, LlmInvocation):
        pairs = [("model", invocation.model), ("base_url", invocation.base_url),
                 ("conn_id", invocation.conn_id and f"conn:{invocation.conn_id}"),
                 ("api_key_env", invocation.api_key_env and f"env:{invocation.api_key_env}")]
    elif isinstance(invocation, LambdaInvocation):
        pairs = [("function_name", invocation.function_name), ("endpoint_url", invocation.endpoint_url)]
    elif isinstance(invocation, StepFunctionsInvocation):
        pairs = [("state_machine_arn", invocation.state_machine_arn), ("endpoint_url", invocation.endpoint_url)]
    else:
        pairs = []
    return [(what, value) for what, value in pairs if value]


def check_untrusted(untrusted: AgentRegistry, trusted: AgentRegistry, trust: RegistryTrust, source: str) -> None:
    """Raise ``UntrustedAgentError`` for the first agent of ``untrusted`` (from ``source``, a registry a run request
    named) that runs code, calls a target off the allow-list, or takes a name or alias of a ``trusted`` agent."""
    taken = {agent_key(name): spec.name for spec in trusted for name in (spec.name, *spec.aliases)}
    origin = f"from {source} (a registry named by the run request, not one an operator configured)"
    for spec in untrusted:
        details = {"agent": spec.name, "registry": source}
        if isinstance(spec.invocation, PythonInvocation):
            raise UntrustedAgentError(
                f"the agent '{spec.name}' {origin} would run Python code ({spec.invocation.callable}).",
                hint=f"Ask an operator to add the agent to {_CONFIGURED_REGISTRY}.",
                details={**details, "reason": "runs_code"})
        if spec.escalate_to is not None and agent_key(spec.escalate_to) not in taken:
            raise UntrustedAgentError(
                f"the agent '{spec.name}' {origin} escalates to '{spec.escalate_to}', which is not a trusted agent.",
                hint=f"Escalate to an agent of {_CONFIGURED_REGISTRY} or a built-in one.",
                details={**details, "reason": "escalates_to_untrusted_agent", "escalate_to": spec.escalate_to})
        replaced = next((taken[agent_key(n)] for n in (spec.name, *spec.aliases) if agent_key(n) in taken), None)
        if replaced is not None:
            raise UntrustedAgentError(
                f"the agent '{spec.name}' {origin} would replace the configured agent '{replaced}'.",
                hint="Give it a name and aliases of its own, or ask an operator to change the configured agent.",
                details={**details, "reason": "replaces_configured_agent", "replaced_agent": replaced})
        for what, target in agent_targets(spec):
            if not trust.target_allowed(target):
                allow_list = "" if trust.allowed_agent_targets else ", which is empty"
                raise UntrustedAgentError(
                    f"the agent '{spec.name}' {origin} calls {what} '{target}', which is not on the operator's "
                    f"allow-list {ALLOWED_AGENT_TARGETS_ENV}{allow_list}.",
                    hint=f"Ask an operator to add a pattern for it to {ALLOWED_AGENT_TARGETS_ENV}, "
                    f"or to add the agent to {_CONFIGURED_REGISTRY}.",
                    details={**details, "reason": "target_not_allowed", "target": target})


def resolve_escalations(registry: AgentRegistry, trusted: AgentRegistry) -> AgentRegistry:
    """``registry`` with every ``escalate_to`` resolved among the ``trusted`` agents only (a registry a run request
    brought can neither be escalated to nor supply the target of a configured agent). The stronger agent is taken
    without a cascade of its own (one level); an unknown target stays unresolved and ``AgentRegistry.validate``
    refuses the agent (``INVALID_ESCALATION``) while the other agents stay usable."""
    def resolved(spec: AgentSpec) -> AgentSpec:
        if spec.escalate_to is None:
            return spec
        target = trusted.get(spec.escalate_to) if spec.escalate_to in trusted else None
        if target is not None:
            target = target.model_copy(update={"escalate_to": None, "escalate_when": None, "escalation_agent": None})
        return spec.model_copy(update={"escalation_agent": target})

    return AgentRegistry([resolved(spec) for spec in registry])


def read_registry_source(source: str, read_s3: Callable[[str], str] | None = None) -> AgentRegistry:
    """The agents of a registry file: a local path, or ``s3://`` read with ``read_s3`` (the caller's S3 client)."""
    if source.startswith("s3://"):
        if read_s3 is None:
            raise RegistryError(f"cannot read {source} here: no S3 client.",
                                hint="Use a local registry file, or run it where S3 is configured (the DAG).")
        return load_registry_text(read_s3(source), source)
    return load_registry_text(read_registry_file(source), source)


@contextlib.contextmanager
def trusting_registry_files(*files: str | None, environ: MutableMapping[str, str] | None = None) -> Iterator[None]:
    """Add ``files`` to ``BATCHORCH_REGISTRY_FILES`` for the block, then restore it. For the local CLI only: the
    machine's owner vouches for their own ``--registry`` file in the Airflow that ``batchorch run`` starts."""
    environ = os.environ if environ is None else environ
    added = [f for f in files if f and f.strip()]
    before = environ.get(REGISTRY_FILES_ENV)
    if added:
        environ[REGISTRY_FILES_ENV] = ",".join([*_listed(before or ""), *added])
    try:
        yield
    finally:
        if added:
            if before is None:
                environ.pop(REGISTRY_FILES_ENV, None)
            else:
                environ[REGISTRY_FILES_ENV] = before
