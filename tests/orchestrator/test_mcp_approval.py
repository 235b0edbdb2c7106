"""A batch over the approval thresholds, started over MCP (outside the chat DAG), waits for the person at the client:
the server asks them (MCP elicitation, the SDK's own client answering), and nothing starts unless they approve.
Batches start through Airflow's REST API (its stand-in records the runs)."""

from __future__ import annotations

import asyncio

import mcp.types as types
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from airflow_provider_batchorch.core.chat.request_policy import RequestPolicy
from airflow_provider_batchorch.core.cost_estimate import ApprovalThresholds
from airflow_provider_batchorch.orchestrator.launchers import AirflowApiLauncher
from airflow_provider_batchorch.orchestrator.mcp_server import build_mcp_server
from airflow_provider_batchorch.orchestrator.tools import BatchToolset
from tests.orchestrator.test_mcp_server import ROWS, _upload_csv
from tests.support.fake_airflow_api import FakeAirflowApi


@pytest.fixture
def aws(embedded_aws, monkeypatch):
    for key, value in embedded_aws.environment().items():
        monkeypatch.setenv(key, value)
    return embedded_aws


def _config(csv_uri: str) -> dict:
    return {"csv_s3_uri": csv_uri, "target": {"type": "agent", "name": "company-enrichment-agent"},
            "input_mapping": {"company_name": "company_name", "website": "website", "location": "location"},
            "output_mapping": {"structured_output_fields": ["industry"]}, "concurrency": 2}


def _answering(action: str, asked: list[str]):
    async def answer(context, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action=action, content={"approve": True} if action == "accept" else None)

    return answer


def test_a_large_batch_starts_only_when_the_person_approves(aws):
    csv_uri = _upload_csv(aws, "inputs/mcp-approval/companies.csv")
    airflow = FakeAirflowApi()
    toolset = BatchToolset(RequestPolicy(allowed_buckets=[aws.bucket]), AirflowApiLauncher(airflow.client()),
                           thresholds=ApprovalThresholds(max_rows=2, max_cost_usd=100.0))

    async def execute(**client_options):
        async with Client(build_mcp_server(toolset), raise_exceptions=False, **client_options) as client:
            schema = next(t for t in (await client.list_tools()).tools if t.name == "execute_batch_processor")
            assert not {"approve", "approved", "ctx"} & set(schema.input_schema["properties"])  # the model can't
            try:
                return await client.call_tool("execute_batch_processor", _config(csv_uri))
            except MCPError as error:  # a protocol error, not a tool result
                return error

    cannot_ask = asyncio.run(execute())  # a client that cannot ask its user gets a protocol error: nothing starts
    assert isinstance(cannot_ask, MCPError) and "did not declare the form elicitation capability" in str(cannot_ask)
    asked: list[str] = []
    declined = asyncio.run(execute(elicitation_callback=_answering("decline", asked)))
    assert declined.is_error and "did not approve" in declined.content[0].text, declined.content[0].text
    assert f"{len(ROWS)} rows with company-enrichment-agent" in asked[0] and "5 rows is more than 2" in asked[0]
    assert airflow.runs == {}  # nothing started

    approved = asyncio.run(execute(elicitation_callback=_answering("accept", asked)))
    assert not approved.is_error, approved.content[0].text
    (run,) = airflow.runs.values()
    assert run["dag_run_id"] == approved.structured_content["dag_run_id"] and run["conf"]["csv_uri"] == csv_uri


@pytest.mark.e2e
def test_a_retry_over_the_thresholds_starts_only_when_the_person_approves(aws_conn, tmp_path):
    """A retry is a new batch of the failed rows: over the thresholds the person is asked, as for a first run."""
    import time

    from airflow_provider_batchorch.orchestrator.launchers import EmbeddedLauncher

    csv_uri = _upload_csv(aws_conn, "inputs/mcp-approval-retry/companies.csv")
    launcher = EmbeddedLauncher(tmp_path)
    toolset = BatchToolset(RequestPolicy(allowed_buckets=[aws_conn.bucket]), launcher,
                           thresholds=ApprovalThresholds(max_rows=1, max_cost_usd=100.0))
    asked: list[str] = []

    async def call(name: str, answer: str, **arguments):
        async with Client(build_mcp_server(toolset), raise_exceptions=False,
                          elicitation_callback=_answering(answer, asked)) as client:
            return await client.call_tool(name, arguments)

    started = asyncio.run(call("execute_batch_processor", "accept", **_config(csv_uri)))
    assert not started.is_error, started.content[0].text
    arn = started.structured_content["execution_arn"]
    deadline = time.monotonic() + 300
    while not (progress := asyncio.run(call("monitor_batch_execution", "accept", execution_arn=arn))).structured_content["done"]:
        assert time.monotonic() < deadline, progress.structured_content
        time.sleep(1)
    failed = asyncio.run(call("get_batch_results", "accept", execution_arn=arn)).structured_content["rows_failed"]
    assert failed >= 2  # more than max_rows: the retry needs approval too

    unknown = asyncio.run(call("retry_failed_rows", "accept", execution_arn=arn + "-other"))
    assert unknown.is_error and "UNKNOWN_EXECUTION" in unknown.content[0].text  # a tool error, nothing asked
    asked.clear()
    declined = asyncio.run(call("retry_failed_rows", "decline", execution_arn=arn))
    assert declined.is_error and "did not approve" in declined.content[0].text, declined.content[0].text
    assert f"{failed} rows is more than 1" in asked[0], asked
    retried = asyncio.run(call("retry_failed_rows", "accept", execution_arn=arn))
    assert not retried.is_error, retried.content[0].text
    assert retried.structured_content["execution_arn"] != arn
