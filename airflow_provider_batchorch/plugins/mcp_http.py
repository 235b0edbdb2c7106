"""The orchestrator's MCP tools over streamable HTTP, on the Airflow API server: ``/batchorch-mcp/mcp``.

    claude mcp add --transport http batchorch https://airflow.example.com/batchorch-mcp/mcp \\
        --header "Authorization: Bearer $AIRFLOW_TOKEN"

Airflow does not authenticate a plugin's app, so every request needs an ``Authorization: Bearer`` token of an
Airflow user allowed to trigger ``batch_orchestrator`` runs (401 without one, 403 without the permission). The
UI's cookie is not accepted: a web page the user visits cannot call the tools on their behalf. The tools are
the stdio server's, under the same ``RequestPolicy`` (``BATCHORCH_CHAT_*`` of the API server); each Airflow user
has their own toolset, and their batches are kept in their S3 conversation (``batchorch/conversations/mcp/http/
<user>.json``), so any API server worker, or one restarted, monitors them. Batches start as ``batch_orchestrator``
runs over the REST API with the service credential of ``plugins.airflow_api`` (``BATCHORCH_MCP_LAUNCHER``
defaults to ``airflow-api`` here). The server is stateless (JSON answers, no session to lose between workers).

Register it with the ``airflow.plugins`` entry point (``batchorch_mcp =
"airflow_provider_batchorch.plugins.mcp_http:BatchorchMcpPlugin"``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Any, Awaitable, Callable

from fastapi.security import HTTPBearer
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from airflow.plugins_manager import AirflowPlugin
from airflow_provider_batchorch.orchestrator.tools import BatchToolset

log = logging.getLogger(__name__)

URL_PREFIX = "/batchorch-mcp"
MCP_PATH = "/mcp"
DAG_ID = "batch_orchestrator"
USER_SCOPE_KEY = "batchorch.airflow_user"
_bearer = HTTPBearer(auto_error=False)


async def require_batch_trigger(request: Request) -> str:
    """The Airflow user of the request's bearer token, if allowed to trigger ``batch_orchestrator`` runs."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import get_user, requires_access_dag

    credentials = await _bearer(request)
    if credentials is None:
        raise HTTPException(401, "an Airflow token is required: Authorization: Bearer <token>")
    user = await get_user(request, None, credentials)
    requires_access_dag("POST", DagAccessEntity.RUN, param_dag_id=DAG_ID)(request, user)
    return user.get_name()


class PerUserToolsets:
    """One ``BatchToolset`` per Airflow user, remembering their batches in their MCP conversation."""

    def __init__(self, build: Callable[[], BatchToolset] | None = None) -> None:
        self.build = build or _airflow_toolset
        self._toolsets: dict[str, BatchToolset] = {}
        self._lock = threading.Lock()

    def __call__(self, request: Any) -> BatchToolset:
        from airflow_provider_batchorch.orchestrator.mcp_tools import mcp_memory

        user = request.scope.get(USER_SCOPE_KEY) if request is not None else None
        if not user:  # the route sets it after authentication; without it nothing runs
            raise PermissionError("no authenticated Airflow user")
        with self._lock:
            if user not in self._toolsets:
                toolset = self.build()
                toolset.memory = mcp_memory(toolset, channel="http", name=user)
                self._toolsets[user] = toolset
            return self._toolsets[user]


def _airflow_toolset() -> BatchToolset:
    from airflow_provider_batchorch.orchestrator.launchers import AirflowApiLauncher, EmbeddedLauncher
    from airflow_provider_batchorch.orchestrator.tools import LAUNCHER_ENV

    launcher = EmbeddedLauncher() if os.environ.get(LAUNCHER_ENV) == "embedded" else AirflowApiLauncher()
    return BatchToolset.from_env(launcher=launcher)


class AuthenticatedMcpApp:
    """The MCP SDK's streamable HTTP app behind ``authorize``; its session manager starts with the first request
    (an app mounted by the API server gets no lifespan of its own)."""

    def __init__(self, toolset_for: Callable[[Any], BatchToolset],
                 authorize: Callable[[Request], Awaitable[str]] = require_batch_trigger) -> None:
        from mcp.server.transport_security import TransportSecuritySettings

        from airflow_provider_batchorch.orchestrator.mcp_tools import build_per_caller_mcp_server

        self.authorize = authorize
        server = build_per_caller_mcp_server(toolset_for)
        # Bearer tokens only (no cookie): a page in the user's browser cannot call it, so the SDK's localhost
        # DNS-rebinding guard (which would refuse the API server's real host name) is not needed.
        self.app = server.streamable_http_app(
            streamable_http_path=MCP_PATH, stateless_http=True, json_response=True,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))
        self.session_manager = server.session_manager
        self._running: asyncio.Event | None = None
        self._keeper: asyncio.Task | None = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        try:
            scope[USER_SCOPE_KEY] = await self.authorize(Request(scope))
        except HTTPException as error:
            return await JSONResponse({"detail": error.detail}, status_code=error.status_code)(scope, receive, send)
        await self._ensure_running()
        await self.app(scope, receive, send)

    async def _ensure_running(self) -> None:
        if self._running is None:
            self._running = asyncio.Event()
            self._keeper = asyncio.get_running_loop().create_task(self._keep_running())
        await self._running.wait()

    async def _keep_running(self) -> None:
        async with self.session_manager.run():
            self._running.set()
            await asyncio.Event().wait()  # until the API server stops


def create_mcp_app(toolset_for: Callable[[Any], BatchToolset] | None = None, **kwargs: Any) -> AuthenticatedMcpApp:
    return AuthenticatedMcpApp(toolset_for or PerUserToolsets(), **kwargs)


mcp_app = create_mcp_app()


class BatchorchMcpPlugin(AirflowPlugin):
    """Serves the MCP tools at ``/batchorch-mcp/mcp`` on the Airflow API server."""

    name = "batchorch_mcp"
    fastapi_apps = [{"app": mcp_app, "url_prefix": URL_PREFIX, "name": "batchorch MCP server"}]
