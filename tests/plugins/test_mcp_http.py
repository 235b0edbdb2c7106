"""The MCP tools over streamable HTTP as a route of Airflow's own API server (the plugin loaded as the entry point
loads it, served by uvicorn), driven by the mcp SDK's client: only Airflow users allowed to trigger batches get in,
and they get the same tools under the same policy as ``batchorch mcp``."""

from __future__ import annotations

import asyncio

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.orchestrator.test_mcp_server import ROWS, TOOLS, _call, _refused, _upload_csv
from tests.plugins.test_dashboard import token
from tests.support.asgi_server import serve


@pytest.fixture(scope="module")
def mcp_url(embedded_aws, airflow_db):
    from airflow import plugins_manager
    from airflow.api_fastapi.app import create_app
    from airflow_provider_batchorch.plugins.mcp_http import BatchorchMcpPlugin

    mp = pytest.MonkeyPatch()
    for key, value in embedded_aws.environment().items():
        mp.setenv(key, value)
    mp.setenv("BATCHORCH_CHAT_ALLOWED_BUCKETS", embedded_aws.bucket)
    mp.setenv("BATCHORCH_MCP_LAUNCHER", "embedded")
    mp.setattr(plugins_manager, "_load_entrypoint_plugins", lambda: ([BatchorchMcpPlugin()], {}))
    caches = [plugins_manager._get_plugins, plugins_manager.get_fastapi_plugins, plugins_manager._get_ui_plugins]
    for cached in caches:
        cached.cache_clear()
    try:
        with serve(create_app("core"), path="/batchorch-mcp/mcp") as url:
            yield url
    finally:
        for cached in caches:
            cached.cache_clear()
        mp.undo()


def test_only_airflow_users_who_may_trigger_batches_get_in(mcp_url):
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {"Accept": "application/json, text/event-stream"}
    assert httpx.post(mcp_url, json=ping, headers=headers).status_code == 401
    cookie_only = httpx.post(mcp_url, json=ping, headers=headers, cookies={"_token": token("admin")})
    assert cookie_only.status_code == 401  # a page in the user's browser cannot call the tools
    viewer = httpx.post(mcp_url, json=ping, headers={**headers, "Authorization": f"Bearer {token('viewer')}"})
    assert viewer.status_code == 403


def test_the_sdk_client_lists_and_calls_the_tools_under_the_policy(mcp_url, embedded_aws):
    csv_uri = _upload_csv(embedded_aws, "inputs/mcp-http/companies.csv")

    async def scenario():
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token('user')}"}, timeout=60)
        async with http, Client(streamable_http_client(mcp_url, http_client=http)) as client:
            listed = {tool.name: tool for tool in (await client.list_tools()).tools}
            assert set(listed) == TOOLS
            assert listed["analyze_csv_structure"].input_schema["required"] == ["csv_uri"]
            assert "ctx" not in listed["analyze_csv_structure"].input_schema["properties"]
            structure = await _call(client, "analyze_csv_structure", csv_uri=csv_uri)
            assert structure["row_count"] == len(ROWS)
            text = await _refused(client, "analyze_csv_structure", csv_uri="s3://evil/companies.csv")
            assert "POLICY_REFUSED" in text and "bucket_not_allowed" in text
            text = await _refused(client, "monitor_batch_execution",
                                  execution_arn="arn:aws:states:us-east-1:123456789012:execution:x:someone-elses")
            assert "UNKNOWN_EXECUTION" in text

    asyncio.run(scenario())


def test_the_plugin_is_registered_and_valid():
    from importlib.metadata import entry_points

    from airflow.plugins_manager import is_valid_plugin
    from airflow_provider_batchorch.plugins.mcp_http import BatchorchMcpPlugin

    assert is_valid_plugin(BatchorchMcpPlugin)
    registered = {ep.name: ep.value for ep in entry_points(group="airflow.plugins")}
    assert registered["batchorch_mcp"] == "airflow_provider_batchorch.plugins.mcp_http:BatchorchMcpPlugin"
