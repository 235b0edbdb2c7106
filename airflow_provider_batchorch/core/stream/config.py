"""A stream's settings: what a run may choose (``StreamRequest``), where the stream lives (``StreamPlaces``, the
DAG author's or the CLI user's), and the resolved ``StreamConfig`` every worker of the stream reads.

A stream is processed by the batch's own row logic, so its config carries a ``BatchConfig``: the stream's
columns are ``_message_id`` followed by the declared row columns, and the output header is the batch rule's
(``core/csv/output_header.py``) for those columns.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.mapping import map_inputs, select_output_fields
from airflow_provider_batchorch.core.models import BatchConfig
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri
from airflow_provider_batchorch.core.transforms.row_transforms import plan_transforms

MESSAGE_ID_COLUMN = "_message_id"
STREAM_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
CONFIG_NAME = "stream.json"
STOP_MARKER_NAME = "STOP"
STREAMS_KEY_PREFIX = "streams/"  # the default places' area in the batch bucket; output_uri may not write in it


class StreamRequest(BaseModel):
    """What a ``batch_stream`` run (its conf) or ``batchorch stream-worker`` chooses: the agent and the row
    settings. No names of queues, tables or buckets: those are ``StreamPlaces``, chosen by whoever deploys."""

    model_config = ConfigDict(extra="forbid")

    agent: str = Field(min_length=1, title="Agent", description="The agent run on every row, by registry name; it "
                       "must have structured output, e.g. ticket-classifier-agent")
    columns: list[str] | None = Field(None, title="Row columns", description="The keys of a message's row, in "
                                      "output order; default: the agent's input field names. Other keys are "
                                      "ignored, a missing one is empty")
    input_mapping: dict[str, str | None] | None = Field(None, title="Input mapping", description="Agent input "
                                                        "field -> row column, where the names differ")
    output_fields: list[str] | None = Field(None, title="Output fields", description="The agent's output fields "
                                            "to write; default all")
    concurrency: int = Field(10, ge=1, le=1000, title="Concurrency", description="Agent calls in flight per "
                             "stream worker")
    timeout_seconds: float = Field(60, gt=0, le=900, title="Timeout per row (s)", description="A row whose agent "
                                   "call takes longer fails with a timeout in _error_message")
    neutralize_formulas: bool = Field(True, title="Neutralize formulas", description="Prefix cells that start "
                                      "with = + - @ in the output parts, as batches do")
    part_rows: int = Field(100, ge=1, le=10_000, title="Rows per part", description="An output part is written "
                           "to S3 when it holds this many rows")
    part_seconds: float = Field(10.0, gt=0, le=300, title="Seconds per part", description="... or when its "
                                "first row is this many seconds old")

    @field_validator("columns")
    @classmethod
    def _columns_are_distinct(cls, columns: list[str] | None) -> list[str] | None:
        if columns is not None:
            if not columns or len(set(columns)) != len(columns) or MESSAGE_ID_COLUMN in columns:
                raise ValueError(f"columns must be distinct, at least one, and not {MESSAGE_ID_COLUMN!r}")
        return columns


class StreamPlaces(BaseModel):
    """Where a stream lives. Trusted settings: a run's conf never picks them (a conf naming another queue could
    read someone else's rows)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stream_id: str = Field("default", pattern=STREAM_ID_PATTERN, description="Names the stream in the ledger")
    source_queue: str = Field("batchorch-stream-rows", description="SQS queue the rows arrive on")
    destination_queue: str = Field("batchorch-stream-results.fifo", description="SQS queue the results go to; a "
                                   "FIFO queue dedups a re-sent result (see aws/stream_worker.py)")
    ledger_table: str = Field("batchorch-stream-ledger", description="DynamoDB table: answered ids, parts, "
                              "worker progress")
    output_uri: str = Field(f"s3://batchorch-local/{STREAMS_KEY_PREFIX}default/", description="s3://bucket/prefix/ of the "
                            "stream's config, output parts and stop marker")
    visibility_seconds: int = Field(60, ge=5, le=43_200, description="The source queue's visibility timeout: how "
                                    "long a dead worker's rows wait before another worker takes them")

    @field_validator("output_uri")
    @classmethod
    def _prefix(cls, uri: str) -> str:
        parse_s3_uri(uri)
        return uri.rstrip("/") + "/"


class StreamConfig(BaseModel):
    """The resolved stream: staged as ``<output_uri>stream.json`` and read by every worker of the stream."""

    places: StreamPlaces
    part_rows: int
    part_seconds: float
    batch: BatchConfig

    @property
    def stream_id(self) -> str:
        return self.places.stream_id

    @property
    def row_columns(self) -> list[str]:
        return self.batch.columns[1:]

    @property
    def config_uri(self) -> str:
        return self.places.output_uri + CONFIG_NAME

    @property
    def stop_uri(self) -> str:
        return self.places.output_uri + STOP_MARKER_NAME

    @property
    def parts_prefix(self) -> str:
        return self.places.output_uri + "parts/"


def build_stream_config(request: StreamRequest, agent: AgentSpec, places: StreamPlaces) -> StreamConfig:
    """Validate the request against the agent (transforms, mapping, output fields) as a batch's is; raises the
    same errors. The registry entry's transforms are planned as a batch's (``plan_transforms``): the header has
    their output names, their filter is checked against the stream's columns."""
    columns = request.columns or [field.name for field in agent.input_fields]
    transforms = plan_transforms(agent, None, [MESSAGE_ID_COLUMN, *columns], request.output_fields or ())
    agent = transforms.agent
    mapping = map_inputs(agent, transforms.row_columns, request.input_mapping)
    output_fields = transforms.output_fields or select_output_fields(agent, request.output_fields)
    batch = BatchConfig(
        batch_id=f"stream-{places.stream_id}",
        csv_uri=places.source_queue,
        encoding="utf-8",
        delimiter=",",
        columns=[MESSAGE_ID_COLUMN, *columns],
        agent=agent,
        input_mapping=mapping,
        output_fields=output_fields,
        concurrency=request.concurrency,
        chunk_concurrency=1,
        row_concurrency=request.concurrency,
        timeout_seconds=request.timeout_seconds,
        total_rows=0,
        chunk_count=0,
        prefix_uri=places.output_uri,
        output_uri=places.output_uri + "parts/",
        neutralize_formulas=request.neutralize_formulas,
    )
    return StreamConfig(places=places, part_rows=request.part_rows, part_seconds=request.part_seconds, batch=batch)
