"""Stitch the chunk parts, in chunk order, into the output CSV and summarise the batch.

A chunk with no part failed as a whole (its task exhausted its retries; the Map tolerates it, as
``batch_processor.asl.json`` says): its rows are read back from the source CSV and written in their place with
``_status = FAILED`` and ``_error_code = CHUNK_FAILED``, so the output has every input row, in order.

The output is streamed: parts are fetched a few ahead, in order, into a multipart upload, so memory does not
grow with the number of rows (at most PART_READERS parts of up to PREFETCH_MAX_BYTES each, plus the upload's
in-flight 8 MiB pieces).
"""

from __future__ import annotations

import io
import json
from collections import deque
from datetime import datetime, timezone
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import Iterator

from botocore.exceptions import ClientError

from airflow_provider_batchorch.aws.batch_store import (
    chunk_error_uri,
    chunk_summary_uri,
    get_bytes,
    part_uri,
    save_summary,
)
from airflow_provider_batchorch.aws.csv_source import read_range
from airflow_provider_batchorch.core.s3_uri import join_uri, parse_s3_uri
from airflow_provider_batchorch.core.csv.chunk_reader import read_chunk_rows
from airflow_provider_batchorch.core.execution_status import SUCCEEDED
from airflow_provider_batchorch.core.csv.output import csv_bytes
from airflow_provider_batchorch.core.errors import BatchorchError, ExecutionFailedError
from airflow_provider_batchorch.core.models import (
    METADATA_COLUMNS,
    ROW_FAILED,
    BatchConfig,
    BatchSummary,
    ChunkSpec,
    ChunkSummary,
)
from airflow_provider_batchorch.core.summary import summarize_batch
from airflow_provider_batchorch.core.batch_api.parts import add_execution_parts
from airflow_provider_batchorch.aws.batch_api_job import load_outcome

SUMMARY_READERS = 16
# Parts fetched ahead of the one being written (one GET at a time made many small parts latency-bound); a
# botocore client pools 10 connections by default.
PART_READERS = 8
# A part this small is read whole by its reader thread; a larger one is streamed in order when its turn comes.
PREFETCH_MAX_BYTES = 4 << 20
STREAM_BLOCK_BYTES = 1 << 20


# The _error_code of the rows of a chunk that failed as a whole, and the failure reason the summary counts.
CHUNK_FAILED_CODE = "CHUNK_FAILED"
CHUNK_FAILED_REASON = "Chunk failed after its retries"


class IncompleteBatchError(BatchorchError):
    code = "INCOMPLETE_BATCH"


class FailedChunk:
    """A chunk without a part: where its rows are in the source CSV and why it failed."""

    def __init__(self, spec: ChunkSpec, error: str) -> None:
        self.spec, self.error = spec, error

    def message(self) -> str:
        return (f"chunk {self.spec.chunk} failed after its retries and its rows were not processed: {self.error}. "
                "Fix the cause if it is not transient, then reprocess the failed rows with retry-failed "
                "(batchorch run --retry-failed OUTPUT.csv)")[:2000]

    def summary(self) -> ChunkSummary:
        now = datetime.now(timezone.utc)
        return ChunkSummary(chunk=self.spec.chunk, rows=self.spec.rows, succeeded=0, failed=self.spec.rows,
                            failure_reasons={CHUNK_FAILED_REASON: self.spec.rows} if self.spec.rows else {},
                            part_uri="", started_at=now, finished_at=now)


class _ConcatenatedReader(io.RawIOBase):
    """A read-only file over a sequence of byte blocks, for ``upload_fileobj``."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self._blocks = blocks
        self._buffer = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._buffer:
            try:
                self._buffer = memoryview(next(self._blocks))
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]  # a view: no copy of the rest
        return size


def failed_chunk_part(s3, config: BatchConfig, failed: FailedChunk) -> bytes:
    """The chunk's rows as the source CSV holds them, each ``FAILED`` with the chunk's error, no agent output."""
    data = read_range(s3, config.csv_uri, failed.spec.start, failed.spec.end)
    rows = read_chunk_rows(data, columns=config.columns, delimiter=config.delimiter, quotechar=config.quotechar,
                           encoding=config.encoding)
    if len(rows) != failed.spec.rows:
        raise IncompleteBatchError(
            f"chunk {failed.spec.chunk} failed, and its bytes in {config.csv_uri} now hold {len(rows)} rows, not "
            f"{failed.spec.rows}: the CSV changed while the batch ran.", hint="Run the batch again.")
    metadata = dict.fromkeys(METADATA_COLUMNS, "")
    metadata.update({"_status": ROW_FAILED, "_error_message": failed.message(), "_error_code": CHUNK_FAILED_CODE,
                     "_agent": config.agent.name, "_agent_version": config.agent.version,
                     "_processed_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})
    tail = [""] * len(config.output_fields) + [metadata[column] for column in METADATA_COLUMNS]
    return csv_bytes(([row.get(column, "") for column in config.columns] + tail for row in rows),
                     neutralize=config.neutralize_formulas)


def _fetch_part(s3, config: BatchConfig, chunk: int, failed: dict[int, FailedChunk]):
    """The part's bytes, or its open stream if it is too large to hold."""
    if chunk in failed:
        return failed_chunk_part(s3, config, failed[chunk])
    bucket, key = parse_s3_uri(part_uri(config, chunk))
    response = s3.get_object(Bucket=bucket, Key=key)
    if response["ContentLength"] <= PREFETCH_MAX_BYTES:
        return response["Body"].read()
    return response["Body"]


def _output_blocks(s3, config: BatchConfig, failed: dict[int, FailedChunk]) -> Iterator[bytes]:
    # The header comes already neutralised and made unique (output_header): neutralising it again could only
    # differ from what configure reported.
    yield csv_bytes([config.output_columns], neutralize=False)
    with ThreadPoolExecutor(PART_READERS, thread_name_prefix="part-reader") as pool:
        chunks = iter(range(config.chunk_count))
        ahead = deque(pool.submit(_fetch_part, s3, config, chunk, failed) for chunk in islice(chunks, PART_READERS))
        while ahead:
            part = ahead.popleft().result()
            following = next(chunks, None)
            if following is not None:
                ahead.append(pool.submit(_fetch_part, s3, config, following, failed))
            if isinstance(part, bytes):
                yield part
            else:
                with part:
                    yield from part.iter_chunks(chunk_size=STREAM_BLOCK_BYTES)


def load_chunk_summaries(s3, config: BatchConfig) -> tuple[list[ChunkSummary], dict[int, FailedChunk]]:
    """Every chunk's summary, and the chunks that have none (failed as a whole) with their recorded error."""

    def load(chunk: int) -> ChunkSummary | None:
        try:
            return ChunkSummary.model_validate_json(get_bytes(s3, chunk_summary_uri(config, chunk)))
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("NoSuchKey", "404"):
                raise
            return None

    with ThreadPoolExecutor(SUMMARY_READERS) as pool:
        loaded = list(pool.map(load, range(config.chunk_count)))
    missing = [chunk for chunk, summary in enumerate(loaded) if summary is None]
    failed: dict[int, FailedChunk] = {}
    if missing:
        specs = _manifest(s3, config)
        with ThreadPoolExecutor(SUMMARY_READERS) as pool:
            errors = list(pool.map(lambda chunk: _chunk_error(s3, config, chunk), missing))
        failed = {chunk: FailedChunk(specs[chunk], error) for chunk, error in zip(missing, errors)}
    summaries = [summary if summary is not None else failed[chunk].summary() for chunk, summary in enumerate(loaded)]
    rows = sum(summary.rows for summary in summaries)
    if rows != config.total_rows:
        raise IncompleteBatchError(f"the parts hold {rows} rows, the CSV {config.total_rows}.",
                                   hint="Run the batch again; the CSV may have changed while it ran.")
    return summaries, failed


def _manifest(s3, config: BatchConfig) -> dict[int, ChunkSpec]:
    """The chunk byte ranges the Distributed Map read (``stage_batch`` wrote them)."""
    specs = json.loads(get_bytes(s3, join_uri(config.prefix_uri, "manifest.json")))
    return {spec.chunk: spec for spec in map(ChunkSpec.model_validate, specs)}


def _chunk_error(s3, config: BatchConfig, chunk: int) -> str:
    try:
        return get_bytes(s3, chunk_error_uri(config.prefix_uri, chunk)).decode("utf-8", "replace")
    except ClientError:
        return ("no worker recorded an error (its task failed or timed out in Step Functions: the Map Run's "
                "failed child executions in the Step Functions console say why)")


def write_output_csv(s3, config: BatchConfig, failed: dict[int, FailedChunk] | None = None) -> str:
    """The output CSV: the header, then each chunk's part (or, for a failed chunk, its rows marked FAILED)."""
    bucket, key = parse_s3_uri(config.output_uri)
    reader = io.BufferedReader(_ConcatenatedReader(_output_blocks(s3, config, failed or {})), buffer_size=8 << 20)
    s3.upload_fileobj(reader, bucket, key, ExtraArgs={"ContentType": "text/csv"})
    return config.output_uri


def assemble_results(s3, sfn, config: BatchConfig, execution_arn: str) -> BatchSummary:
    execution = sfn.describe_execution(executionArn=execution_arn)
    if execution["status"] != SUCCEEDED:
        raise ExecutionFailedError(
            f"execution {execution_arn} is {execution['status']}, not SUCCEEDED: {execution.get('cause') or ''}",
            hint="Wait for it to finish, or look at the failed chunk in the Step Functions console.",
        )
    chunks, failed = load_chunk_summaries(s3, config)
    write_output_csv(s3, config, failed)
    processing_seconds = (execution["stopDate"] - execution["startDate"]).total_seconds()
    summary = summarize_batch(config, chunks, execution_arn=execution_arn, processing_seconds=processing_seconds)
    add_execution_parts(summary, config, chunks, load_outcome(s3, config))
    save_summary(s3, config, summary)
    return summary
