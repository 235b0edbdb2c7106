"""Multi-agent pipelines: a CSV runs through several agents in order, each stage's output feeding the next.

Column naming (the output of stage N becomes the input of stage N+1, so names must never collide):

* The **final stage** writes its columns exactly as a single batch does: its output fields, then ``_status``,
  ``_error_message`` and the other ``METADATA_COLUMNS``, plain.
* An **earlier stage**'s metadata columns are prefixed with the stage name: ``address_validator_status``,
  ``address_validator_error_message``, ... (the name, then the metadata column, whose ``_`` joins them).
* An earlier stage's **output fields** keep their plain names (``normalized_address``), unless a later stage
  writes a field of the same name; then the earlier one is prefixed too (``address_validator_confidence_score``)
  and the later one stays plain.
* The original columns are never renamed.

A stage's ``input_mapping`` may name an earlier stage's output field by its plain name; it is translated to the
column's final name. A stage's name defaults to its agent's name without ``-agent``, ``-`` becoming ``_``
(``address-validator-agent`` -> ``address_validator``).

Earlier stages run with formula neutralisation off (their output is only read by the next stage); the final
stage neutralises every cell when the pipeline asks for it. Rows are never dropped between stages: a row that
failed in stage 1 still goes to stage 2 (with empty stage-1 outputs) and its ``address_validator_status`` says so.
"""

from __future__ import annotations

import csv
import re
from typing import Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from airflow_provider_batchorch.core.models import METADATA_COLUMNS, BatchRequest, BatchSummary

MAX_STAGES = 10
_STAGE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")


class StageRequest(BaseModel):
    """One agent of a pipeline. Unset limits fall back to the pipeline's."""

    model_config = ConfigDict(extra="forbid")

    agent: str = Field(min_length=1)
    name: str | None = Field(None, description="Prefix for this stage's columns; default from the agent name")
    input_mapping: dict[str, str] = Field(default_factory=dict, description="agent input field -> column")
    output_fields: list[str] = Field(default_factory=list, description="Empty means every field of the agent")
    concurrency: int | None = Field(None, ge=1, le=1000)
    timeout_seconds: float | None = Field(None, gt=0, le=900)

    @field_validator("name")
    @classmethod
    def _name_is_a_column_prefix(cls, value: str | None) -> str | None:
        if value is not None and not _STAGE_NAME.match(value):
            raise ValueError("a stage name is a letter then letters, digits or _ (at most 40)")
        return value


class PipelineRequest(BaseModel):
    """A CSV through several agents in order: the ``batch_pipeline`` DAG's run conf."""

    model_config = ConfigDict(extra="forbid")

    csv_uri: str = Field(description="s3://bucket/key.csv")
    stages: list[StageRequest] = Field(min_length=1, max_length=MAX_STAGES)
    concurrency: int = Field(10, ge=1, le=1000)
    timeout_seconds: float = Field(60, gt=0, le=900)
    chunk_rows: int | None = Field(None, ge=1, le=1_000_000)
    output_uri: str | None = Field(None, description="s3://... for the final output CSV")
    registry: str | None = None
    encoding: str | None = Field(None, description="Of the input CSV; stage outputs are UTF-8")
    neutralize_formulas: bool = True
    incremental: bool = False
    state_uri: str | None = None

    @field_validator("csv_uri")
    @classmethod
    def _csv_uri_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("csv_uri is empty: give s3://bucket/key.csv")
        return value.strip()

    @model_validator(mode="after")
    def _stage_names_unique(self) -> PipelineRequest:
        names = stage_names(self.stages)
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"stage names must be unique, {', '.join(duplicates)} repeats: give each a name")
        return self


class StagePlan(BaseModel):
    """What one stage runs and how its output is renamed before the next stage reads it."""

    index: int
    name: str
    request: BatchRequest
    output_fields: list[str] = Field(description="The fields this stage writes, resolved against its agent")
    renames_after: dict[str, str] = Field(default_factory=dict, description="column -> name for the next stage")


def default_stage_name(agent: str) -> str:
    name = re.sub(r"[^A-Za-z0-9]+", "_", agent.removesuffix("-agent")).strip("_") or "stage"
    return name if name[0].isalpha() else f"s_{name}"


def stage_names(stages: list[StageRequest]) -> list[str]:
    return [stage.name or default_stage_name(stage.agent)[:40] for stage in stages]


def plan_stages(pipeline: PipelineRequest, output_fields: list[list[str]], stage_inputs: list[str]) -> list[StagePlan]:
    """Each stage's ``BatchRequest`` and column renames.

    :param output_fields: Per stage, the output fields it writes (``select_output_fields`` of its agent).
    :param stage_inputs: Per stage after the first, where its input CSV (the previous output, renamed) goes.
    """
    names = stage_names(pipeline.stages)
    last = len(pipeline.stages) - 1
    renamed: dict[str, str] = {}  # plain output field name -> its final column name, over earlier stages
    plans = []
    for index, (stage, fields) in enumerate(zip(pipeline.stages, output_fields)):
        later_fields = {field for later in output_fields[index + 1:] for field in later}
        renames = {} if index == last else {
            **{field: f"{names[index]}_{field}" for field in fields if field in later_fields},
            **{column: f"{names[index]}{column}" for column in METADATA_COLUMNS},
        }
        request = BatchRequest(
            csv_uri=pipeline.csv_uri if index == 0 else stage_inputs[index - 1],
            agent=stage.agent,
            concurrency=stage.concurrency or pipeline.concurrency,
            timeout_seconds=stage.timeout_seconds or pipeline.timeout_seconds,
            input_mapping={field: renamed.get(column, column) for field, column in stage.input_mapping.items()},
            output_fields=fields,
            output_uri=pipeline.output_uri if index == last else None,
            chunk_rows=pipeline.chunk_rows,
            registry=pipeline.registry,
            encoding=pipeline.encoding if index == 0 else None,
            neutralize_formulas=pipeline.neutralize_formulas if index == last else False,
            incremental=pipeline.incremental,
            state_uri=pipeline.state_uri,
        )
        plans.append(StagePlan(index=index, name=names[index], request=request, output_fields=fields,
                               renames_after=renames))
        for field in fields:  # its plain name now means this stage's column
            renamed.pop(field, None)
        renamed.update({field: new for field, new in renames.items() if field in fields})
    return plans


def rename_header(source: TextIO, target: TextIO, renames: dict[str, str]) -> int:
    """Copy a CSV (as written by the results step) with its header renamed; returns the data row count."""
    reader = csv.reader(source)
    writer = csv.writer(target, lineterminator="\n")
    writer.writerow([renames.get(column, column) for column in next(reader, [])])
    rows = 0
    for rows, row in enumerate(reader, start=1):
        writer.writerow(row)
    return rows


class StageOutcome(BaseModel):
    name: str
    agent: str
    status: str
    rows_succeeded: int
    rows_failed: int
    output_csv_uri: str


class PipelineSummary(BaseModel):
    """The pipeline's result: the final output and how each stage went."""

    status: Literal["SUCCEEDED", "COMPLETED_WITH_ERRORS"]
    message: str
    output_csv_uri: str
    rows_processed: int
    stages: list[StageOutcome]


def summarize_pipeline(names: list[str], summaries: list[BatchSummary]) -> PipelineSummary:
    """One summary from the stages' ``BatchSummary`` (in stage order; the last one wrote the final output)."""
    stages = [
        StageOutcome(name=name, agent=summary.agent, status=summary.status, rows_succeeded=summary.rows_succeeded,
                     rows_failed=summary.rows_failed, output_csv_uri=summary.output_csv_uri)
        for name, summary in zip(names, summaries)
    ]
    failing = [f"{stage.name}: {stage.rows_failed} rows failed" for stage in stages if stage.rows_failed]
    return PipelineSummary(
        status="COMPLETED_WITH_ERRORS" if failing else "SUCCEEDED",
        message=f"{len(stages)} stages over {summaries[-1].rows_processed} rows"
        + (f"; {', '.join(failing)}" if failing else ", every row succeeded in every stage"),
        output_csv_uri=summaries[-1].output_csv_uri,
        rows_processed=summaries[-1].rows_processed,
        stages=stages,
    )
