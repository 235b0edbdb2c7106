"""The one registry loader: the built-in agents, then the configured registry files, then the DynamoDB
AgentRegistry table, then the registry a run request names (checked by ``core/registry_trust.check_untrusted``).

It sits above ``builtin_agents/`` (``builtin_registry``) so that ``core/`` never imports the built-in agents; what
is trusted, and the checks, stay in ``core/registry_trust.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from airflow_provider_batchorch.builtin_agents import builtin_registry
from airflow_provider_batchorch.core.errors import RegistryError
from airflow_provider_batchorch.core.registry import AgentRegistry
from airflow_provider_batchorch.core.registry_trust import (
    RegistryTrust,
    check_untrusted,
    read_registry_source,
    resolve_escalations,
)


def assemble_registry(
    requested: str | None = None,
    *,
    trust: RegistryTrust | None = None,
    table: AgentRegistry | None = None,
    read_s3: Callable[[str], str] | None = None,
) -> AgentRegistry:
    """The registry a run uses: the built-ins, then the configured files, then the AgentRegistry ``table`` (each
    overriding the one before), then ``requested`` -- the registry a run request names -- whose agents are
    checked by ``check_untrusted`` and may only add agents (unless it is one of the configured files).

    :param trust: What the deployment trusts; ``None`` reads ``RegistryTrust.from_env()``.
    """
    trust = trust if trust is not None else RegistryTrust.from_env()
    registry = builtin_registry()
    for source in trust.registry_files:
        registry = registry.merged(read_registry_source(source, read_s3))
    if table is not None:
        registry = registry.merged(table)
    trusted = registry
    if requested and requested.strip() and not trust.is_configured(requested):
        source = requested.strip()
        brought = read_registry_source(source, read_s3)
        check_untrusted(brought, registry, trust, source)
        registry = registry.merged(brought)
    return resolve_escalations(registry, trusted)  # escalate_to: trusted agents only


def resolve_registry(file: str | Path | None = None) -> AgentRegistry:
    """The built-in agents, overridden and extended by the agents of a local registry file when given.

    The file is taken as trusted (its python agents run): ``assemble_registry`` with it as the only configured
    file. A registry named by a run request goes through ``assemble_registry``'s checks instead.
    """
    if str(file or "").startswith("s3://"):
        raise RegistryError(f"resolve_registry reads local files only, got {file}.",
                            hint="Fetch the object and pass its text to load_registry_text().")
    files = [str(file)] if file is not None and str(file).strip() else []
    return assemble_registry(trust=RegistryTrust(registry_files=files))
