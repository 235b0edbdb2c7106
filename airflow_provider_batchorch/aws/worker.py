"""The chunk worker: takes chunk tasks from SQS, processes their rows, writes the part, answers Step Functions.

Order of effects for one chunk, chosen so that a worker killed at any point loses nothing and counts nothing twice:
part CSV -> chunk summary -> progress (counted once per chunk) -> SendTaskSuccess -> delete the message.
Until the message is deleted SQS redelivers it (after the visibility timeout) to another worker, which redoes the
chunk and overwrites the same part.

While it works on a chunk the worker keeps its message invisible and, when the message carries
``heartbeat_seconds`` (the state machine's ``HeartbeatSeconds``), heartbeats the chunk's task: a chunk whose worker
died stops heartbeating and its task times out (``States.HeartbeatTimeout``, retried, then the chunk's rows are
written as CHUNK_FAILED) instead of waiting out its 24 h ``TimeoutSeconds`` once SQS gave up redelivering it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, Callable

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from airflow_provider_batchorch.aws.batch_store import (
    chunk_error_uri,
    get_bytes,
    part_uri,
    put_bytes,
    save_chunk_summary,
)
from airflow_provider_batchorch.aws.csv_source import read_range
from airflow_provider_batchorch.aws.processor import CHUNK_VISIBILITY_SECONDS
from airflow_provider_batchorch.aws.progress import record_chunk_done, record_partials
from airflow_provider_batchorch.aws.result_cache import open_batch_store
from airflow_provider_batchorch.aws.worker_loop import run_until_stopped
from airflow_provider_batchorch.core.result_cache import CachedAgentCall
from airflow_provider_batchorch.core.cascade_call import compose_agent_call
from airflow_provider_batchorch.core.cascade_tally import CascadeTally
from airflow_provider_batchorch.core.csv.chunk_reader import read_chunk_rows
from airflow_provider_batchorch.core.csv.output import csv_bytes
from airflow_provider_batchorch.core.errors import AgentCrashedError, BatchorchError, RegistryError
from airflow_provider_batchorch.agents.kinds import build_agent_call
from airflow_provider_batchorch.core.models import BatchConfig, ChunkSpec, ChunkSummary
from airflow_provider_batchorch.core.row_processing import ChunkOutcome, RowProcessor
from airflow_provider_batchorch.core.throughput import finish_histogram

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_SECONDS = 2.0
# Threads for synchronous agents: one per row in flight, so a slow agent never waits for a free thread.
AGENT_THREADS = 1024
# Throttling and 5xx from S3/SQS/DynamoDB/Step Functions are retried with backoff inside each call, well past a
# burst; what still fails fails the chunk attempt (ChunkRetryable), which the state machine retries as a whole.
# Chunk messages taken per receive. One at a time, so that the worker processes polling the queue share a batch's
# chunks instead of the first poll taking ten (one of two workers did 54-74% of an LLM batch with ten).
RECEIVE_AT_ONCE = 1
RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 10}, max_pool_connections=64)
# Keep-alive ticks (visibility extension and task heartbeat) per HeartbeatSeconds: a heartbeat or two may fail
# (retried within each call as well) before the task times out.
HEARTBEATS_PER_WINDOW = 4
# What SendTaskHeartbeat/SendTaskSuccess/SendTaskFailure answer for a task that is no longer waiting for this token.
GONE_TASK_ERRORS = ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist")


def worker_clients(*, endpoint_url: str | None = None, region: str | None = None) -> dict[str, Any]:
    """The worker's clients (s3, sqs, sfn, ddb), with RETRY_CONFIG."""
    import boto3

    services = {"s3": "s3", "sqs": "sqs", "sfn": "stepfunctions", "ddb": "dynamodb"}
    return {key: boto3.client(service, endpoint_url=endpoint_url, region_name=region, config=RETRY_CONFIG)
            for key, service in services.items()}


class ChunkError(Exception):
    """A chunk could not be processed as a whole. ``retryable`` decides between retry and failing the batch."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class ChunkWorker:
    def __init__(self, *, s3, sqs, sfn, ddb, queue_url: str, progress_table: str, max_chunks: int = 8,
                 visibility_seconds: int | None = None) -> None:
        self.s3, self.sqs, self.sfn, self.ddb = s3, sqs, sfn, ddb
        self.queue_url = queue_url
        self.progress_table = progress_table
        self.max_chunks = max_chunks
        # None: the queue's own VisibilityTimeout, read when the worker starts.
        self.visibility_seconds = visibility_seconds
        self._processors: dict[str, asyncio.Future[RowProcessor]] = {}
        self._progress = _ProgressBoard(self)
        self._stopping = asyncio.Event()
        self.chunks_done = 0

    def stop(self) -> None:
        self._stopping.set()

    async def run(self, *, idle_exit_seconds: float | None = None) -> None:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=AGENT_THREADS, thread_name_prefix="agent"))
        if self.visibility_seconds is None:
            self.visibility_seconds = await asyncio.to_thread(self._queue_visibility_seconds)
        in_flight: set[asyncio.Task] = set()
        last_work = time.monotonic()
        while not self._stopping.is_set():
            free = self.max_chunks - len(in_flight)
            if free <= 0:
                await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                continue
            try:
                messages = await asyncio.to_thread(self._receive, min(free, RECEIVE_AT_ONCE))
            except (BotoCoreError, ClientError) as exc:  # retries exhausted: the queue is still there, poll again
                log.warning("receiving chunks failed: %s", exc)
                await asyncio.sleep(1)
                continue
            for message in messages:
                task = asyncio.create_task(self.handle_message(message))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            if messages or in_flight:
                last_work = time.monotonic()
            elif idle_exit_seconds is not None and time.monotonic() - last_work > idle_exit_seconds:
                break
        if in_flight:
            await asyncio.wait(in_flight)

    def _queue_visibility_seconds(self) -> int:
        try:
            attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["VisibilityTimeout"])
            return int(attributes["Attributes"]["VisibilityTimeout"])
        except (BotoCoreError, ClientError, KeyError, ValueError) as exc:
            log.warning("could not read the queue's visibility timeout (%s); assuming %ss", exc, CHUNK_VISIBILITY_SECONDS)
            return CHUNK_VISIBILITY_SECONDS

    def _receive(self, count: int) -> list[dict]:
        response = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=count, WaitTimeSeconds=1,
                                            AttributeNames=["ApproximateReceiveCount", "SentTimestamp"])
        return response.get("Messages", [])

    async def handle_message(self, message: dict) -> None:
        body = json.loads(message["Body"])
        token = body["task_token"]
        chunk = ChunkSpec.model_validate(body["chunk"])
        heartbeat_seconds = body.get("heartbeat_seconds")  # absent: a definition without HeartbeatSeconds
        if (heartbeat_seconds and _needs_heartbeat_first(message, heartbeat_seconds)
                and await asyncio.to_thread(self._heartbeat, token, chunk.chunk) == "TaskTimedOut"):
            # A redelivered message whose task already timed out (its retry sent a new message): nothing waits for
            # it. Not processing it also spares the worker a chunk that killed the ones it was delivered to.
            # Only TaskTimedOut is final: the emulator answers InvalidToken to a heartbeat that races ahead of its
            # own registration of a fresh token, and dropping that message would lose the chunk.
            log.warning("chunk %s: its task timed out before this delivery; message dropped", chunk.chunk)
            await self._delete(message, chunk.chunk)
            return
        keep_alive = asyncio.create_task(self._keep_alive(message["ReceiptHandle"], token, chunk.chunk,
                                                          heartbeat_seconds))
        try:
            try:
                summary = await self.process_chunk(body["config_uri"], chunk)
            except ChunkError:
                raise
            except Exception as exc:  # noqa: BLE001 - a bug or a library failing outside a row: answer, don't hang
                # Unanswered, the chunk would go to the dead-letter queue and its task wait out its 24 h timeout.
                log.exception("chunk %s: unexpected error", chunk.chunk)
                raise ChunkError(f"chunk {chunk.chunk}: unexpected {type(exc).__name__}: {exc}", retryable=True) from exc
            answer = {"chunk": summary.chunk, "rows": summary.rows, "failed": summary.failed}
            await asyncio.to_thread(self._answer, self.sfn.send_task_success, taskToken=token, output=json.dumps(answer))
            self.chunks_done += 1
        except ChunkError as exc:
            log.error("chunk %s failed: %s", chunk.chunk, exc)
            error = "ChunkRetryable" if exc.retryable else "ChunkFailed"
            try:
                await asyncio.to_thread(self._record_chunk_error, body["config_uri"], chunk.chunk, f"{error}: {exc}")
                await asyncio.to_thread(self._answer, self.sfn.send_task_failure, taskToken=token, error=error,
                                        cause=str(exc)[:32000])
            except (BotoCoreError, ClientError) as answer_exc:
                log.error("chunk %s: could not report the failure (%s); SQS redelivers it", chunk.chunk, answer_exc)
                return
        except (BotoCoreError, ClientError) as exc:  # SendTaskSuccess failed past its retries
            log.error("chunk %s: could not answer Step Functions (%s); SQS redelivers it", chunk.chunk, exc)
            return
        finally:
            keep_alive.cancel()
        await self._delete(message, chunk.chunk)

    async def _delete(self, message: dict, chunk: int) -> None:
        # Not deleted (worker killed, or the delete failed): redelivered after the visibility timeout; the next
        # worker redoes the chunk, overwrites the same part, and finds the task token already answered.
        try:
            await asyncio.to_thread(self.sqs.delete_message, QueueUrl=self.queue_url,
                                    ReceiptHandle=message["ReceiptHandle"])
        except (BotoCoreError, ClientError) as exc:
            log.warning("chunk %s: could not delete its message (%s); it will be redelivered", chunk, exc)

    def _record_chunk_error(self, config_uri: str, chunk: int, message: str) -> None:
        prefix_uri = config_uri.rsplit("/", 1)[0]
        try:
            put_bytes(self.s3, chunk_error_uri(prefix_uri, chunk), message.encode(), "text/plain")
        except (BotoCoreError, ClientError) as exc:
            log.warning("could not record the error of chunk %s: %s", chunk, exc)

    @staticmethod
    def _answer(call, **kwargs: Any) -> None:
        try:
            call(**kwargs)
        except ClientError as exc:  # already answered (a redelivered chunk) or the execution is gone
            if exc.response["Error"]["Code"] not in GONE_TASK_ERRORS:
                raise
            log.warning("task token no longer valid: %s", exc.response["Error"]["Code"])

    def _heartbeat(self, token: str, chunk: int) -> str | None:
        """SendTaskHeartbeat; the error code when the task refused it, else None (a transport error is logged:
        the next tick tries again before HeartbeatSeconds run out)."""
        try:
            self.sfn.send_task_heartbeat(taskToken=token)
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code not in GONE_TASK_ERRORS:
                log.warning("chunk %s: heartbeat failed: %s", chunk, exc)
            return code
        except BotoCoreError as exc:
            log.warning("chunk %s: heartbeat failed: %s", chunk, exc)
        return None

    def keep_alive_interval(self, heartbeat_seconds: float | None) -> float:
        """Seconds between two keep-alive ticks: a third of the visibility timeout, and a HEARTBEATS_PER_WINDOW-th
        of the task's HeartbeatSeconds."""
        interval = (self.visibility_seconds or CHUNK_VISIBILITY_SECONDS) / 3
        if heartbeat_seconds:
            interval = min(interval, heartbeat_seconds / HEARTBEATS_PER_WINDOW)
        return interval

    async def _keep_alive(self, receipt_handle: str, token: str, chunk: int, heartbeat_seconds: float | None) -> None:
        """Until cancelled: keep the chunk's message invisible and, if its task has HeartbeatSeconds, heartbeat it."""
        seconds = self.visibility_seconds or CHUNK_VISIBILITY_SECONDS
        interval = self.keep_alive_interval(heartbeat_seconds)
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(
                    self.sqs.change_message_visibility,
                    QueueUrl=self.queue_url,
                    ReceiptHandle=receipt_handle,
                    VisibilityTimeout=seconds,
                )
            except (BotoCoreError, ClientError) as exc:  # two more tries before the message becomes visible
                log.warning("could not extend a chunk's visibility: %s", exc)
            if heartbeat_seconds and await asyncio.to_thread(self._heartbeat, token, chunk) in GONE_TASK_ERRORS:
                # Its retry (a new message) may already be on another worker; this answer will be refused.
                log.warning("chunk %s: its task is no longer waiting (timed out); heartbeats stopped", chunk)
                heartbeat_seconds = None

    async def process_chunk(self, config_uri: str, chunk: ChunkSpec) -> ChunkSummary:
        started_at = datetime.now(timezone.utc)
        try:
            processor = await self._processor_for(config_uri)
            config = processor.config
            data = await asyncio.to_thread(read_range, self.s3, config.csv_uri, chunk.start, chunk.end)
            rows = read_chunk_rows(
                data, columns=config.columns, delimiter=config.delimiter, quotechar=config.quotechar, encoding=config.encoding
            )
        except RegistryError as exc:
            raise ChunkError(str(exc), retryable=False) from exc
        except (BatchorchError, BotoCoreError, ClientError, OSError, ValueError) as exc:
            raise ChunkError(f"chunk {chunk.chunk}: {exc}", retryable=True) from exc
        if len(rows) != chunk.rows:
            raise ChunkError(
                f"chunk {chunk.chunk}: expected {chunk.rows} rows at bytes {chunk.start}-{chunk.end}, parsed {len(rows)}; "
                "the CSV changed after it was analysed: run the batch again",
                retryable=False,
            )
        outcome = await process_rows_or_split(processor, rows, chunk.chunk,
                                              on_progress=self._progress.updater(config.batch_id, chunk.chunk))
        await self._progress.finish(config.batch_id, chunk.chunk)
        try:
            body = csv_bytes(outcome.rows, neutralize=config.neutralize_formulas)
            uri = await asyncio.to_thread(put_bytes, self.s3, part_uri(config, chunk.chunk), body, "text/csv")
            summary = ChunkSummary(
                chunk=chunk.chunk,
                rows=len(rows),
                succeeded=outcome.succeeded,
                failed=outcome.failed,
                skipped=outcome.skipped,
                failure_reasons=dict(outcome.failure_reasons),
                part_uri=uri,
                started_at=started_at,
                finished_at=datetime.now(timezone.utc),
                agent_calls=outcome.agent_calls,
                rows_reused=outcome.rows_reused,
                calls_saved=outcome.calls_saved,
                input_tokens=outcome.input_tokens,
                output_tokens=outcome.output_tokens,
                rows_finished=finish_histogram(outcome.row_finished_at),
                rows_batch_api=outcome.rows_batch_api,
                cascade=outcome.cascade if outcome.cascade.rows else None,
            )
            await asyncio.to_thread(save_chunk_summary, self.s3, config, summary)
            await asyncio.to_thread(
                record_chunk_done, self.ddb, self.progress_table, config.batch_id, chunk.chunk,
                outcome.succeeded + outcome.skipped, outcome.failed  # a skipped row is done, not failed
            )
        except (BotoCoreError, ClientError, OSError) as exc:
            raise ChunkError(f"chunk {chunk.chunk}: could not store results: {exc}", retryable=True) from exc
        return summary

    async def _processor_for(self, config_uri: str) -> RowProcessor:
        """The batch's one processor in this worker (one agent, limiter and cache), built by the first of the
        chunks that arrive together; a failed build is tried again by the next chunk."""
        building = self._processors.get(config_uri)
        if building is None:
            building = self._processors[config_uri] = asyncio.ensure_future(self._build_processor(config_uri))
            building.add_done_callback(lambda done: self._forget_failed_build(config_uri, done))
        return await asyncio.shield(building)

    def _forget_failed_build(self, config_uri: str, build: asyncio.Future) -> None:
        if (build.cancelled() or build.exception() is not None) and self._processors.get(config_uri) is build:
            del self._processors[config_uri]

    async def _build_processor(self, config_uri: str) -> RowProcessor:
        config = BatchConfig.model_validate_json(await asyncio.to_thread(get_bytes, self.s3, config_uri))
        store = open_batch_store(self.s3, config)
        agent_call = compose_agent_call(config.agent,  # the agent, or its cascade: each agent cached on its own
                                        lambda spec: CachedAgentCall(build_agent_call(spec), spec, store))
        return RowProcessor(config, agent_call)


def _needs_heartbeat_first(message: dict, heartbeat_seconds: float) -> bool:
    """Whether to heartbeat the task before the rows start: for a redelivered message (its task may have timed out:
    then the message is dropped), and for one that waited in the queue (the task's HeartbeatSeconds run from when
    Step Functions sent it, and the first keep-alive heartbeat comes only a keep-alive interval later). A fresh
    first delivery starts at once. Attributes missing: heartbeat."""
    attributes = message.get("Attributes", {})
    try:
        received = int(attributes["ApproximateReceiveCount"])
        waited = time.time() - int(attributes["SentTimestamp"]) / 1000
    except (KeyError, TypeError, ValueError):
        return True
    return received > 1 or waited > heartbeat_seconds / HEARTBEATS_PER_WINDOW / 2


async def process_rows_or_split(processor: RowProcessor, rows: list[dict[str, str]], chunk: int, *,
                                on_progress: Callable[[int, int], None] | None = None) -> ChunkOutcome:
    """Rows that fail as a whole (an error outside any one row) are tried once more, then split in halves until
    the rows that still fail do so alone: each of those becomes a failed row (``AGENT_CRASHED``), the rest succeed.
    Without this a poison row would fail its chunk on every Step Functions retry, and the batch with it."""
    for attempt in (1, 2):
        try:
            return await processor.process_chunk(rows, on_progress=on_progress if attempt == 1 else None)
        except Exception as exc:  # noqa: BLE001 - a failure of the rows as a whole: retry, then split
            log.warning("chunk %s: %d rows failed together (attempt %d): %r", chunk, len(rows), attempt, exc)
            error = exc
    if len(rows) == 1:
        return await RowProcessor(processor.config, _failing_call(error), processor.validator).process_chunk(rows)
    middle = len(rows) // 2
    halves = [await process_rows_or_split(processor, part, chunk) for part in (rows[:middle], rows[middle:])]
    return merge_outcomes(halves)


def _failing_call(error: BaseException):
    async def call(inputs: dict[str, Any]):
        raise AgentCrashedError("Row failed its chunk on every attempt", detail=f"{type(error).__name__}: {error}")

    return call


def merge_outcomes(outcomes: list[ChunkOutcome]) -> ChunkOutcome:
    merged = ChunkOutcome(rows=[row for outcome in outcomes for row in outcome.rows])
    for outcome in outcomes:
        for name in ("succeeded", "failed", "skipped", "agent_calls", "rows_reused", "calls_saved", "input_tokens", "output_tokens",
                     "rows_batch_api"):
            setattr(merged, name, getattr(merged, name) + getattr(outcome, name))
        merged.failure_reasons.update(outcome.failure_reasons)
        merged.row_finished_at += outcome.row_finished_at
    merged.cascade = CascadeTally.total(outcome.cascade for outcome in outcomes) or CascadeTally()
    return merged


class _ProgressBoard:
    """The running counts of this worker's chunks, published together at most every PROGRESS_INTERVAL_SECONDS:
    one request per batch, however many chunks are in flight.

    One request per chunk (as before) made the batch's single progress item the emulator's hot spot at 250
    chunks in flight (py-spy: most of moto's CPU in DynamoDB UpdateItem copying that item), and costs as many
    writes of one hot item on AWS.
    """

    def __init__(self, worker: ChunkWorker) -> None:
        self.worker = worker
        self.counts: dict[str, dict[int, tuple[int, int]]] = {}
        self.dirty: dict[str, set[int]] = {}
        self.last = time.monotonic()
        self.pending: asyncio.Future | None = None

    def updater(self, batch_id: str, chunk: int) -> Callable[[int, int], None]:
        def update(succeeded: int, failed: int) -> None:
            self.counts.setdefault(batch_id, {})[chunk] = (succeeded, failed)
            self.dirty.setdefault(batch_id, set()).add(chunk)
            self._maybe_publish()

        return update

    def _maybe_publish(self) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_INTERVAL_SECONDS or (self.pending is not None and not self.pending.done()):
            return
        self.last = now
        batches = {batch: {chunk: self.counts[batch][chunk] for chunk in chunks}
                   for batch, chunks in self.dirty.items() if chunks}
        self.dirty.clear()
        if batches:
            self.pending = asyncio.ensure_future(asyncio.to_thread(self._write, batches))

    def _write(self, batches: dict[str, dict[int, tuple[int, int]]]) -> None:
        for batch_id, counts in batches.items():
            try:
                record_partials(self.worker.ddb, self.worker.progress_table, batch_id, counts)
            except (BotoCoreError, ClientError) as exc:  # progress is informative; never fail a chunk for it
                log.warning("progress update failed: %s", exc)

    async def finish(self, batch_id: str, chunk: int) -> None:
        """The chunk is done: forget it, and let a write that may still carry its running counts land first, so
        that counting it as done (which removes its running counts) comes last."""
        chunks = self.counts.get(batch_id, {})
        chunks.pop(chunk, None)
        if not chunks:
            self.counts.pop(batch_id, None)
        self.dirty.get(batch_id, set()).discard(chunk)
        if self.pending is not None:
            await self.pending


def run_worker(*, s3, sqs, sfn, ddb, queue_url: str, progress_table: str, max_chunks: int = 8,
               idle_exit_seconds: float | None = None, visibility_seconds: int | None = None) -> int:
    """Run until SIGTERM/SIGINT (or idle for ``idle_exit_seconds``). Returns the number of chunks done."""
    worker = ChunkWorker(s3=s3, sqs=sqs, sfn=sfn, ddb=ddb, queue_url=queue_url, progress_table=progress_table,
                         max_chunks=max_chunks, visibility_seconds=visibility_seconds)

    run_until_stopped(worker, idle_exit_seconds=idle_exit_seconds)
    return worker.chunks_done

