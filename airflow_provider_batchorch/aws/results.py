"""Stitch the chunk parts, in chunk order, into the output CSV and summarise the batch.

The output is streamed: parts are fetched a few ahead, in order, into a multipart upload, so memory does not
grow with the number of rows (at most PART_READERS parts of up to PREFETCH_MAX_BYTES each, plus the upload's
in-flight 8 MiB pieces).
"""

from __future__ import annotations

import io
from collections import deque
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
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri
from airflow_provider_batchorch.core.execution_status import SUCCEEDED
from airflow_provider_batchorch.core.csv.output import csv_bytes
from airflow_provider_batchorch.core.errors import BatchorchError, ExecutionFailedError
from airflow_provider_batchorch.core.models import BatchConfig, BatchSummary, ChunkSummary
from airflow_provider_batchorch.core.summary import summarize_batch

SUMMARY_READERS = 16
# Parts fetched ahead of the one being written (one GET at a time made many small parts latency-bound); a
# botocore client pools 10 connections by default.
PART_READERS = 8
# A part this small is read whole by its reader thread; a larger one is streamed in order when its turn comes.
PREFETCH_MAX_BYTES = 4 << 20
STREAM_BLOCK_BYTES = 1 << 20


class IncompleteBatchError(BatchorchError):
    code = "INCOMPLETE_BATCH"


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


def _fetch_part(s3, config: BatchConfig, chunk: int):
    """The part's bytes, or its open stream if it is too large to hold."""
    bucket, key = parse_s3_uri(part_uri(config, chunk))
    response = s3.get_object(Bucket=bucket, Key=key)
    if response["ContentLength"] <= PREFETCH_MAX_BYTES:
        return response["Body"].read()
    return response["Body"]


def _output_blocks(s3, config: BatchConfig) -> Iterator[bytes]:
    # The header comes already neutralised and made unique (output_header): neutralising it again could only
    # differ from what configure reported.
    yield csv_bytes([config.output_columns], neutralize=False)
    with ThreadPoolExecutor(PART_READERS, thread_name_prefix="part-reader") as pool:
        chunks = iter(range(config.chunk_count))
        ahead = deque(pool.submit(_fetch_part, s3, config, chunk) for chunk in islice(chunks, PART_READERS))
        while ahead:
            part = ahead.popleft().result()
            following = next(chunks, None)
            if following is not None:
                ahead.append(pool.submit(_fetch_part, s3, config, following))
            if isinstance(part, bytes):
                yield part
            else:
                with part:
                    yield from part.iter_chunks(chunk_size=STREAM_BLOCK_BYTES)


def load_chunk_summaries(s3, config: BatchConfig) -> list[ChunkSummary]:
    def load(chunk: int) -> ChunkSummary:
        try:
            return ChunkSummary.model_validate_json(get_bytes(s3, chunk_summary_uri(config, chunk)))
        except ClientError as exc:
            raise IncompleteBatchError(
                f"chunk {chunk} of batch {config.batch_id} has no result part: {_chunk_error(s3, config, chunk)}.",
                hint="Fix the cause and run the batch again; the Step Functions console shows the chunk's history.",
            ) from exc

    with ThreadPoolExecutor(SUMMARY_READERS) as pool:
        summaries = list(pool.map(load, range(config.chunk_count)))
    rows = sum(summary.rows for summary in summaries)
    if rows != config.total_rows:
        raise IncompleteBatchError(f"the parts hold {rows} rows, the CSV {config.total_rows}.",
                                   hint="Run the batch again; the CSV may have changed while it ran.")
    return summaries


def _chunk_error(s3, config: BatchConfig, chunk: int) -> str:
    try:
        return get_bytes(s3, chunk_error_uri(config.prefix_uri, chunk)).decode("utf-8", "replace")
    except ClientError:
        return "no worker reported an error (it may still be running or was never delivered)"


def write_output_csv(s3, config: BatchConfig) -> str:
    bucket, key = parse_s3_uri(config.output_uri)
    reader = io.BufferedReader(_ConcatenatedReader(_output_blocks(s3, config)), buffer_size=8 << 20)
    s3.upload_fileobj(reader, bucket, key, ExtraArgs={"ContentType": "text/csv"})
    return config.output_uri


def assemble_results(s3, sfn, config: BatchConfig, execution_arn: str) -> BatchSummary:
    execution = sfn.describe_execution(executionArn=execution_arn)
    if execution["status"] != SUCCEEDED:
        raise ExecutionFailedError(
            f"execution {execution_arn} is {execution['status']}, not SUCCEEDED: {execution.get('cause') or ''}",
            hint="Wait for it to finish, or look at the failed chunk in the Step Functions console.",
        )
    chunks = load_chunk_summaries(s3, config)
    write_output_csv(s3, config)
    processing_seconds = (execution["stopDate"] - execution["startDate"]).total_seconds()
    summary = summarize_batch(config, chunks, execution_arn=execution_arn, processing_seconds=processing_seconds)
    save_summary(s3, config, summary)
    return summary
