"""The models that flow between the pipeline steps. Operators push ``model_dump(mode="json")`` and the next
step validates it back with ``Model.model_validate``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.cascade_tally import CascadeReport, CascadeTally
from airflow_provider_batchorch.core.batch_api.models import ExecutionMode, ExecutionPart, ResolvedMode
from airflow_provider_batchorch.core.actual_cost import AgentCost
from airflow_provider_batchorch.core.cost_estimate import CostEstimate
from airflow_provider_batchorch.core.throughput import ThroughputPoint
from airflow_provider_batchorch.core.number_limits import checked_number
from airflow_provider_batchorch.core.csv.output_header import output_header
from airflow_provider_batchorch.core.transforms.rules import TransformRules

GOLDEN_JUDGE_MAX_ROWS = 500

DataType = Literal["string", "integer", "float", "boolean", "date", "datetime", "empty"]

# Columns the processor appends after the agent's output fields, in this order.
STATUS_COLUMN = "_status"
ERROR_COLUMN = "_error_message"
METADATA_COLUMNS = [STATUS_COLUMN, ERROR_COLUMN, "_error_code", "_agent", "_agent_version", "_latency_ms", "_processed_at"]
ROW_SUCCEEDED = "SUCCEEDED"
ROW_FAILED = "FAILED"
ROW_SKIPPED = "SKIPPED"  # the row filter of the transformation rules left it out: returned as read


class ChunkSpec(BaseModel):
    """A row-aligned byte range of the CSV: ``[start, end)`` holds exactly ``rows`` complete records."""

    chunk: int = Field(ge=0)
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    rows: int = Field(ge=0)
    first_row: int = Field(ge=0, description="0-based index of the chunk's first data row in the whole CSV")


class CsvProfile(BaseModel):
    uri: str
    size_bytes: int
    encoding: str = "utf-8"
    has_bom: bool = False
    delimiter: str = ","
    quotechar: str = '"'
    line_terminator: str = "\n"
    columns: list[str]
    data_types: dict[str, DataType]
    row_count: int
    sample_rows: list[dict[str, str]] = Field(default_factory=list)
    header_end: int = Field(description="Byte offset where the first data row starts (after BOM and header)")
    chunk_rows: int
    chunks: list[ChunkSpec] = Field(default_factory=list)

    def without_chunks(self) -> "CsvProfile":
        """A small copy for XCom; the full chunk list lives in S3 next to the batch."""
        return self.model_copy(update={"chunks": []})


# Rows between two cuts of the analysis when the request leaves chunk_rows empty (core/chunk_packing.py packs them).
DEFAULT_CUT_ROWS = 100


class BatchRequest(BaseModel):
    """What a user asks for: the DAG run conf, the CLI flags and the chat command all become this."""

    model_config = ConfigDict(extra="forbid")

    # Each field's title and description are the trigger form's, the DAG docs' and `batchorch run --help`'s
    # (core/run_settings.py generates them); its ge/gt/le are the only ranges (core/number_limits.py).
    csv_uri: str = Field(title="CSV", description="s3://bucket/key.csv (header row first); the CLI takes a local "
                         "path too and uploads it")
    agent: str = Field(min_length=1, title="Agent", description="The agent run on every row, by registry name; it "
                       "must have structured output, e.g. company-enrichment-agent")
    concurrency: int = Field(10, ge=1, le=1000, title="Concurrency",
                             description="Agent calls in flight across the whole batch")
    timeout_seconds: float = Field(60, gt=0, le=900, title="Timeout per row (s)",
                                   description="A row whose agent call takes longer fails with a timeout in "
                                   "_error_message")
    input_mapping: dict[str, str] = Field(default_factory=dict, title="Input mapping",
                                          description='Agent input field -> CSV column, e.g. {"company_name": '
                                          '"Company"}; wins over matching by name and synonyms')
    output_fields: list[str] = Field(default_factory=list, title="Output fields",
                                     description="The agent output fields added as columns; empty means all")
    output_uri: str | None = Field(None, title="Output CSV",
                                   description="s3://... for the output CSV, never the input; empty writes it next "
                                   "to the batch's files")
    chunk_rows: int | None = Field(None, ge=1, le=1_000_000, title="Rows per chunk",
                                   description="Rows handed to one worker task; empty: chosen from the rows and the "
                                   "concurrency so every call slot stays busy (cuts of 100 rows, packed)")
    registry: str | None = Field(None, title="Agent registry file",
                                 description="A YAML/JSON registry adding agents: local path (on the workers) or "
                                 "s3://. Untrusted: its agents may not run Python code or replace a configured "
                                 "agent, and may call only targets on BATCHORCH_ALLOWED_AGENT_TARGETS")
    encoding: str | None = Field(None, title="Encoding",
                                 description="Override the detected encoding, e.g. cp1252; empty detects it")
    neutralize_formulas: bool = Field(True, title="Neutralize formulas",
                                      description="Prefix output cells starting with = + - @ so spreadsheets show "
                                      "them as text")
    incremental: bool = Field(False, title="Incremental",
                              description="Reuse the stored output of rows enriched before (same agent, version "
                              "and mapped input); only new or changed rows call the agent")
    state_uri: str | None = Field(None, title="Incremental state",
                                  description="Where incremental state lives: s3://bucket/prefix/ or a local folder; "
                                  "empty: s3://<csv bucket>/batchorch/state/")
    transforms: TransformRules | None = Field(None, title="Transformation rules",
                                              description="Input steps (concat, template, jsonpath, static, cast), "
                                              "a prompt_template, a row filter and output steps (derived, cast, "
                                              "keep, rename), over the agent's registry defaults; sandboxed "
                                              "templates, no code (README: Transformation rules)")
    execution_mode: ExecutionMode = Field("realtime", title="Execution mode",
                                          description="realtime: one agent call per row; batch_api: the rows go to "
                                          "the provider's asynchronous batch API (about half the price) first, "
                                          "the ones it does not answer in time run in real time; auto: batch_api "
                                          "for large batches where the price table shows a saving")
    batch_api_deadline_seconds: float = Field(86400, gt=0, le=86400, title="Batch API deadline (s)",
                                              description="How long the batch job may take; rows it has not "
                                              "answered by then run in real time")
    golden_sample: str | None = Field(None, title="Golden sample",
                                      description="s3://bucket/key.csv of labelled rows (inputs, and each scored "
                                      "field's expected value in a column named like it); the agent answers them "
                                      "first and the batch stops unless every field reaches golden_min_accuracy; "
                                      "the CLI takes a local path too")
    golden_min_accuracy: float = Field(0.9, ge=0, le=1, title="Golden sample accuracy",
                                       description="The share of labelled rows each field must get right (0-1)")
    golden_judge: str | None = Field(None, title="Golden sample judge",
                                     description="Instead of golden_sample: a trusted agent (registry name; never "
                                     "one a conf's registry brings) that judges the agent's answers on the first "
                                     "golden_judge_rows input rows, per field right or wrong (or a score 0-1, "
                                     "right at 0.5 or above); same threshold and stop")
    golden_judge_rows: int = Field(20, ge=1, le=GOLDEN_JUDGE_MAX_ROWS, title="Golden judge rows",
                                   description="How many input rows (the first ones) the judge scores")
    golden_on_fail: Literal["stop", "ask"] = Field("stop", title="Below the golden threshold",
                                                   description="stop: the batch fails with the per-field report; "
                                                   "ask: a person sees the report in Airflow's Required Actions "
                                                   "and approves (the batch runs) or rejects (it stops)")

    @model_validator(mode="after")
    def _one_golden_source(self) -> "BatchRequest":
        if self.golden_sample and self.golden_judge:
            raise ValueError("golden_sample and golden_judge are two kinds of gate: name one")
        return self

    @field_validator("output_uri", "state_uri", "golden_sample", "golden_judge")
    @classmethod
    def _blank_is_default(cls, value: str | None) -> str | None:
        return (value or "").strip() or None

    @property
    def cut_rows(self) -> int:
        """Rows between two cuts of the analysis: ``chunk_rows``, or ``DEFAULT_CUT_ROWS`` when chunks are packed."""
        return self.chunk_rows or DEFAULT_CUT_ROWS

    @field_validator("csv_uri")
    @classmethod
    def _csv_uri_not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("csv_uri is empty: give s3://bucket/key.csv")
        return value

    @field_validator("concurrency", "timeout_seconds", "chunk_rows", "batch_api_deadline_seconds",
                     "golden_min_accuracy", "golden_judge_rows", mode="wrap")
    @classmethod
    def _number_in_range(cls, value: object, handler, info: ValidationInfo) -> object:
        """The ranges above are the only ones: a refusal names them (``core.number_limits``); true is no number."""
        return checked_number(cls, info.field_name, value, handler)


class BatchConfig(BaseModel):
    """The validated, fully resolved batch: everything a worker needs, stored as ``config.json`` in S3."""

    batch_id: str
    csv_uri: str
    encoding: str
    delimiter: str
    quotechar: str = '"'
    columns: list[str]
    agent: AgentSpec
    input_mapping: dict[str, str]
    output_fields: list[str]
    concurrency: int
    chunk_concurrency: int
    row_concurrency: int
    timeout_seconds: float
    total_rows: int
    chunk_count: int
    prefix_uri: str = Field(description="s3://bucket/prefix/ where config, manifest, parts live")
    output_uri: str
    neutralize_formulas: bool = True
    state_uri: str | None = Field(None, description="Result store shared across batches; None: in-batch dedup only")
    execution_mode: ResolvedMode = Field("realtime", description="batch_api: a batch job answers rows first")
    execution_mode_reason: str = Field("", description="Why this mode (core.batch_api.mode)")
    batch_api_deadline_seconds: float = 86400
    cost_estimate: CostEstimate | None = Field(None, description="Made before the batch ran (core.batch_estimate)")

    @property
    def output_columns(self) -> list[str]:
        """The output CSV's header: input columns, output fields, metadata columns, renamed where two would be
        alike and neutralised like data cells (``output_header``'s rule, docs/output_format.md)."""
        return output_header(self.columns, self.output_fields, METADATA_COLUMNS, neutralize=self.neutralize_formulas)


class ChunkSummary(BaseModel):
    """What a worker records for one chunk (``parts/chunk-NNNNNN.json``) and answers to Step Functions."""

    chunk: int
    rows: int
    succeeded: int
    failed: int
    skipped: int = Field(0, description="Rows the row filter left out (_status SKIPPED)")
    failure_reasons: dict[str, int] = Field(default_factory=dict)
    part_uri: str
    started_at: datetime
    finished_at: datetime
    agent_calls: int = 0
    rows_reused: int = 0
    calls_saved: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    rows_finished: list[tuple[int, int]] = Field(
        default_factory=list, description="(unix second, rows finished in it): the throughput chart's data")
    rows_batch_api: int = 0
    cascade: CascadeTally | None = Field(None, description="The chunk's cascade answers (core/cascade_tally.py)")


class Progress(BaseModel):
    status: str
    total_rows: int
    rows_processed: int = 0
    rows_succeeded: int = 0
    rows_failed: int = 0
    percent: float = 0.0
    eta_seconds: float | None = None
    elapsed_seconds: float = 0.0


class BatchSummary(BaseModel):
    status: Literal["SUCCEEDED", "COMPLETED_WITH_ERRORS", "FAILED"]
    message: str
    batch_id: str
    agent: str
    execution_arn: str | None = None
    rows_processed: int
    rows_succeeded: int
    rows_failed: int
    rows_skipped: int = Field(0, description="Rows the row filter left out: returned as read, _status SKIPPED")
    success_rate: float
    output_csv_uri: str
    output_fields: list[str]
    processing_time_seconds: float
    failure_reasons: dict[str, int] = Field(default_factory=dict)
    agent_calls: int = 0
    rows_reused: int = Field(0, description="Rows answered from the incremental state of earlier batches")
    calls_saved: int = Field(0, description="Rows that needed no agent call: reused or duplicates in this batch")
    input_tokens: int = 0
    output_tokens: int = 0
    input_tokens_per_row: float = Field(0.0, description="Tokens spent per row processed, re-asks included")
    output_tokens_per_row: float = 0.0
    estimated_cost_usd: float | None = Field(None, description="USD estimated before the batch ran")
    actual_cost_usd: float | None = Field(None, description="USD the tokens cost; None when a price is unknown")
    cost_by_agent: dict[str, AgentCost] = Field(default_factory=dict)
    throughput: list[ThroughputPoint] = Field(default_factory=list, description="Rows per minute over the run")
    execution_mode: ResolvedMode = "realtime"
    execution_parts: list[ExecutionPart] = Field(default_factory=list, description="Cost mode: rows, tokens and "
                                                 "cost answered by the batch API and in real time")
    cascade: CascadeReport | None = Field(None, description="Escalations, calls and cost saved against the "
                                          "strong agent on every row (core/cascade_tally.py)")
    error_details_location: str | None = None
    retry_suggestion: str | None = None
