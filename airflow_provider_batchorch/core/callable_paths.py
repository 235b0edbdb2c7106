"""Callable paths of python agents (``module:function``) written before the built-in agents moved.

Users' registry files and the DynamoDB AgentRegistry table name the built-in agents by their old module path
(``...core.agents.examples:sentiment``); ``agents/python_agent.import_callable`` reads it as the current one. The
result cache hashes the old spelling (``core/result_cache.cache_key``), so incremental runs keep their hits.
"""

from __future__ import annotations

# Written in two pieces so that a module-path rewrite does not turn the old spelling into the new one.
LEGACY_PREFIXES = {"airflow_provider_batchorch.core" ".agents.": "airflow_provider_batchorch.builtin_agents."}


def current_callable(path: str) -> str:
    """``path`` with a legacy module prefix replaced by the current one."""
    for legacy, current in LEGACY_PREFIXES.items():
        if path.startswith(legacy):
            return current + path[len(legacy):]
    return path


def legacy_callable(path: str) -> str:
    """``path`` as written before the move (what the result cache keys were computed from)."""
    for legacy, current in LEGACY_PREFIXES.items():
        if path.startswith(current):
            return legacy + path[len(current):]
    return path
