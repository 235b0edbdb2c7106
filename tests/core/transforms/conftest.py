"""A batch of the test echo agent (``text`` in; ``upper``, ``length`` out) with given rules, run through the real
``build_batch_config`` and ``RowProcessor``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError

from airflow_provider_batchorch.core.agent_call import AgentResult
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.configure import build_batch_config
from airflow_provider_batchorch.core.errors import invalid_conf
from airflow_provider_batchorch.core.models import METADATA_COLUMNS, BatchConfig, BatchRequest, CsvProfile
from airflow_provider_batchorch.core.row_processing import ChunkOutcome, RowProcessor
from tests.support.agents import echo, spec


def profile(columns: list[str], rows: int = 1) -> CsvProfile:
    return CsvProfile(uri="s3://b/in.csv", size_bytes=100, columns=columns, data_types={c: "string" for c in columns},
                      row_count=rows, header_end=10, chunk_rows=100)


def configure(columns: list[str], transforms: dict[str, Any] | None = None, *, agent: AgentSpec | None = None,
              **request: Any) -> BatchConfig:
    """The batch's config as the configure step builds it; a conf refused when read raises what ``analyze_csv``
    raises (``invalid_conf``), a rule refused against the columns and the agent ``TransformRuleError``."""
    try:
        conf = BatchRequest(csv_uri="s3://b/in.csv", agent="test-echo-agent", transforms=transforms, **request)
    except ValidationError as exc:
        raise invalid_conf(exc) from None
    return build_batch_config(conf, profile(columns), agent or spec(), batch_id="t", prefix_uri="s3://b/runs/t/")


def run_rows(config: BatchConfig, rows: list[dict[str, str]]) -> tuple[ChunkOutcome, list[dict[str, str]]]:
    """The rows' output records, by the output header's names."""
    async def call(inputs: dict[str, Any]) -> AgentResult:
        return AgentResult(echo(inputs))

    outcome = asyncio.run(RowProcessor(config, call).process_chunk(rows))
    header = config.output_columns
    assert header[-len(METADATA_COLUMNS):] == METADATA_COLUMNS
    return outcome, [dict(zip(header, record)) for record in outcome.rows]


@pytest.fixture
def echo_agent() -> AgentSpec:
    return spec()
