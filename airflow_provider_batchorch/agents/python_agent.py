"""The ``python`` agent kind: a ``module:function`` called for each row.

``python`` agents are isolated by process unless they say otherwise (``PythonInvocation.isolation``): a user
callable runs in a supervised child process pool (``agents/agent_process_pool.py``), so that a row that crashes,
exits or hangs fails alone (``AGENT_CRASHED`` / ``AGENT_TIMEOUT``) instead of taking the worker and its chunks
down; the built-in offline agents (pure, ours) and callables declared ``isolation: none`` run in the worker's
process, with no inter-process hop. A callable path written before the built-in agents moved is read as the
current one (``core/callable_paths.py``).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from typing import TYPE_CHECKING, Any, Callable

from airflow_provider_batchorch.core.agent_call import AgentCall, AgentResult
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.callable_paths import current_callable
from airflow_provider_batchorch.core.errors import RegistryError

if TYPE_CHECKING:
    from airflow_provider_batchorch.agents.agent_process_pool import AgentProcessPool


def import_callable(path: str) -> Callable[..., Any]:
    module_name, sep, attr = current_callable(path).partition(":")
    if not sep or not module_name or not attr:
        raise RegistryError(f"invocation.callable {path!r} is not 'module:function'.", hint="Write it as package.module:function.")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise RegistryError(
            f"cannot import agent callable {path!r}: {exc}.",
            hint="Install the module where the workers run, or fix the path in the registry.",
        ) from exc
    if not callable(target):
        raise RegistryError(f"agent callable {path!r} is not callable.")
    return target


def python_call(spec: AgentSpec) -> AgentCall:
    """In the worker's process (``isolation: none``) or in a supervised child process (``process``, the default
    for user callables; see ``agents/agent_process_pool.py``). The callable is imported here either way, so that a
    wrong path fails the batch at once with ``INVALID_REGISTRY``."""
    function = import_callable(spec.invocation.callable)
    if spec.invocation.effective_isolation == "process":
        pool = agent_process_pool(current_callable(spec.invocation.callable))

        async def call_isolated(inputs: dict[str, Any]) -> AgentResult:
            output = await pool(dict(inputs))
            return output if isinstance(output, AgentResult) else AgentResult(output=output)

        return call_isolated

    async def call(inputs: dict[str, Any]) -> AgentResult:
        if inspect.iscoroutinefunction(function):
            output = await function(dict(inputs))
        else:
            output = await asyncio.to_thread(function, dict(inputs))
        return output if isinstance(output, AgentResult) else AgentResult(output=output)

    return call


_POOLS: dict[str, "AgentProcessPool"] = {}


def agent_process_pool(callable_path: str) -> "AgentProcessPool":
    """One pool per callable per process, shared by every batch that uses it (children are long-lived)."""
    from airflow_provider_batchorch.agents.agent_process_pool import AgentProcessPool

    pool = _POOLS.get(callable_path)
    if pool is None:
        pool = _POOLS[callable_path] = AgentProcessPool(callable_path)
    return pool


def close_agent_process_pools() -> None:
    """Stop every agent child process of this process (the worker calls it when it stops)."""
    for pool in _POOLS.values():
        pool.close()
    _POOLS.clear()
