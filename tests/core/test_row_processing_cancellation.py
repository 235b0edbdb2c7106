"""An agent that raises ``asyncio.CancelledError`` (a BaseException) fails its row with AGENT_ERROR; a cancellation
of the row processing itself (the worker shutting down) still cancels it."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from airflow_provider_batchorch.core.agent_call import AgentResult
from airflow_provider_batchorch.core.models import ROW_FAILED, ROW_SUCCEEDED, BatchConfig
from airflow_provider_batchorch.core.row_processing import RowProcessor
from tests.support.agents import OUTPUT_SCHEMA, echo


def _config(rows: int) -> BatchConfig:
    return BatchConfig(
        batch_id=f"test-{uuid.uuid4().hex[:8]}", csv_uri="s3://b/in.csv", encoding="utf-8", delimiter=",",
        columns=["text"],
        agent={"name": "cancelling-agent", "input_fields": [{"name": "text"}], "output_schema": OUTPUT_SCHEMA,
               "invocation": {"kind": "python", "callable": "json:dumps", "isolation": "none"}},
        input_mapping={"text": "text"}, output_fields=["upper", "length"], concurrency=2, chunk_concurrency=1,
        row_concurrency=2, timeout_seconds=5, total_rows=rows, chunk_count=1,
        prefix_uri="s3://b/runs/test/", output_uri="s3://b/runs/test/output/out.csv")


async def _self_cancelling(inputs):
    if "cancel" in inputs["text"]:
        raise asyncio.CancelledError("the agent's own")
    return AgentResult(echo(inputs))


def _status(row: list[str], config: BatchConfig) -> tuple[str, str, str]:
    metadata = row[len(config.columns) + len(config.output_fields):]
    return metadata[0], metadata[1], metadata[2]  # _status, _error_message, _error_code


def test_an_agents_own_cancelled_error_fails_its_row_with_agent_error():
    texts = ["a", "please cancel", "c", "cancel again"]
    config = _config(len(texts))
    outcome = asyncio.run(RowProcessor(config, _self_cancelling).process_chunk([{"text": t} for t in texts]))
    statuses = [_status(row, config) for row in outcome.rows]
    assert [status for status, _, _ in statuses] == [ROW_SUCCEEDED, ROW_FAILED, ROW_SUCCEEDED, ROW_FAILED]
    assert [code for _, _, code in statuses] == ["", "AGENT_ERROR", "", "AGENT_ERROR"]
    assert "CancelledError" in statuses[1][1] and "catch it inside the agent" in statuses[1][1]
    assert (outcome.succeeded, outcome.failed) == (2, 2)
    assert outcome.failure_reasons == {"Agent raised CancelledError": 2}


def test_a_sync_agent_raising_cancelled_error_in_its_thread_fails_its_row_too():
    def sync_agent(inputs):
        raise asyncio.CancelledError("from a thread")

    async def call(inputs):
        return AgentResult(await asyncio.to_thread(sync_agent, inputs))

    config = _config(1)
    outcome = asyncio.run(RowProcessor(config, call).process_chunk([{"text": "x"}]))
    assert _status(outcome.rows[0], config)[2] == "AGENT_ERROR"


def test_our_own_cancellation_still_cancels_the_rows_while_the_agents_fails_its_row():
    """The two CancelledErrors told apart in one chunk: the agent's own fails row 0, cancelling the processing
    (the worker shutting down) cancels it, rather than becoming row failures."""
    started = asyncio.Event()

    async def agent(inputs):
        if inputs["text"] == "cancel":
            raise asyncio.CancelledError("the agent's own")
        started.set()
        await asyncio.sleep(30)
        return AgentResult(echo(inputs))

    async def scenario() -> None:
        config = _config(3)
        task = asyncio.create_task(RowProcessor(config, agent).process_chunk([{"text": t} for t in ("cancel", "b", "c")]))
        await started.wait()
        await asyncio.sleep(0.05)
        assert not task.done(), "the agent's CancelledError ended the chunk"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=5)
        assert task.cancelled()

    asyncio.run(scenario())
