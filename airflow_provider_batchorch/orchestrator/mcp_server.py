"""``batchorch mcp``: the orchestrator's toolset as an MCP server on stdin/stdout (``mcp_tools``).

The batches it starts are kept in an S3 conversation (``batchorch/conversations/mcp/stdio/
<BATCHORCH_MCP_CONVERSATION>.json`` in ``BATCHORCH_CONVERSATIONS_BUCKET``, else the policy's bucket), so a
restarted server (an MCP client restarts it each session) still monitors them and reads their results.

A call outside the ``RequestPolicy`` (a bucket, an agent, a number over its cap) or any other refused input
comes back as an MCP tool error whose text is the typed error's one line: ``CODE: message. what to do``.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from airflow_provider_batchorch.orchestrator import mcp_tools
from airflow_provider_batchorch.orchestrator.mcp_tools import mcp_memory
from airflow_provider_batchorch.orchestrator.tools import BatchToolset

__all__ = ["build_mcp_server", "mcp_memory", "stdio_toolset", "serve_stdio", "cmd_mcp"]
CONVERSATION_ENV = "BATCHORCH_MCP_CONVERSATION"  # whose batches a stdio server remembers (default "default")


def stdio_toolset() -> BatchToolset:
    """``BatchToolset.from_env()`` remembering its batches in the ``BATCHORCH_MCP_CONVERSATION`` conversation."""
    import os

    toolset = BatchToolset.from_env()
    toolset.memory = mcp_memory(toolset, channel="stdio", name=os.environ.get(CONVERSATION_ENV) or "default")
    return toolset


def build_mcp_server(toolset: BatchToolset | None = None) -> MCPServer:
    """The toolset's tools as an MCP server; default ``stdio_toolset()``."""
    return mcp_tools.build_mcp_server(toolset or stdio_toolset())


def serve_stdio(toolset: BatchToolset | None = None) -> None:
    build_mcp_server(toolset).run("stdio")


def cmd_mcp(args: Any = None) -> int:
    """``batchorch mcp``: serve on stdin/stdout until the client closes it (logs go to stderr)."""
    import os

    if "AIRFLOW_HOME" not in os.environ:  # the embedded launcher names DAG runs with Airflow's rule
        from airflow_provider_batchorch.local.airflow_home import configure_environment

        configure_environment()
    serve_stdio()
    return 0
