"""The stream worker: takes rows from a stream's source queue one message at a time, runs them through the
batch's row logic (``RowProcessor``, the same agents, validation and ``_error_message`` rules), answers each on
the destination queue, and writes the answered rows as rolling CSV parts to S3.

At least once in, exactly once out. Order of effects for one message (``aws/stream_ledger.py`` holds the
records), chosen so that a worker killed at any point loses nothing and answers nothing twice:

1. the ledger already puts the id in a part: make sure that part exists in S3 (rebuild it from the ledger if
   its writer died before writing it), delete the message, done (a redelivery, or the id sent twice);
2. unless the ledger says an earlier delivery sent it (then its row is the ledger's): run the row, send the
   result to the destination queue, then record row and ``sent`` in the ledger. A worker that dies between the
   send and the record leaves the send to be repeated by the redelivery: a FIFO destination drops it
   (``MessageDeduplicationId`` from the id, for 5 minutes, well past the visibility timeout), and the part gets
   the redelivery's row (the same, unless the agent answers a row differently each time);
3. the row joins the worker's rolling part; when the part is due (``part_rows`` or ``part_seconds``) its
   manifest is written, each id claimed for it (conditionally: one part per id), the part put to S3, and only
   then are its messages deleted.

Until deleted, a message is kept invisible by this worker (``ChangeMessageVisibility`` every third of the
visibility timeout); a dead worker's messages come back after the timeout and go through the steps above.
A stop marker in S3 (``batch_stream`` writes it when it ends) or SIGTERM: finish the rows in hand, write the
part, exit.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from airflow_provider_batchorch.agents.kinds import build_agent_call
from airflow_provider_batchorch.aws.batch_store import put_bytes
from airflow_provider_batchorch.aws.stream_ledger import BATCH_WRITE_LIMIT, StreamLedger
from airflow_provider_batchorch.aws.stream_resources import (
    StreamQueues,
    is_fifo,
    object_exists,
    stop_requested,
)
from airflow_provider_batchorch.aws.worker import AGENT_THREADS, process_rows_or_split
from airflow_provider_batchorch.aws.worker_loop import run_until_stopped
from airflow_provider_batchorch.core.agent_call import AgentCall
from airflow_provider_batchorch.core.csv.output import csv_bytes
from airflow_provider_batchorch.core.models import STATUS_COLUMN
from airflow_provider_batchorch.core.row_processing import RowProcessor
from airflow_provider_batchorch.core.stream.config import MESSAGE_ID_COLUMN, StreamConfig
from airflow_provider_batchorch.core.stream.messages import (
    StreamMessage,
    StreamResult,
    invalid_message_error,
    parse_message,
)
from airflow_provider_batchorch.core.stream.micro_batch import MicroBatcher
from airflow_provider_batchorch.core.stream.parts import AnsweredRow, RollingPart, part_uri
from airflow_provider_batchorch.core.stream.stats import LatencyWindow, WorkerStreamStats

log = logging.getLogger(__name__)

RECEIVE_AT_ONCE = 10
HOUSEKEEPING_SECONDS = 0.2
PROGRESS_SECONDS = 2.0
STOP_CHECK_SECONDS = 2.0
RESULT_GROUPS = 16  # FIFO message groups of the destination: consumers read them in parallel
BATCH_LIMIT = 10  # SQS batch calls
CLAIMS_PER_THREAD = 10


class StreamWorker:
    def __init__(self, *, s3, sqs, ddb, config: StreamConfig, queues: StreamQueues, worker_id: str | None = None,
                 agent_call: AgentCall | None = None, clock: Callable[[], float] = time.time) -> None:
        self.s3, self.sqs, self.ddb = s3, sqs, ddb
        self.config, self.queues = config, queues
        self.worker_id = worker_id or uuid.uuid4().hex[:10]
        self.clock = clock
        self.processor = RowProcessor(config.batch, agent_call or build_agent_call(config.batch.agent))
        self.ledger = StreamLedger(ddb, config.places.ledger_table, config.stream_id)
        self.part = RollingPart(config.part_rows, config.part_seconds)
        self.header = config.batch.output_columns
        self.held: set[str] = set()  # receipt handles of the messages this worker answers or holds in its part
        self.known_parts: set[str] = set()
        self.latency = LatencyWindow()
        now = clock()
        self.stats = WorkerStreamStats(worker_id=self.worker_id, started_at=now, updated_at=now)
        self._seq = 0
        # One AWS call for the rows in flight, not one per row (the emulator, like AWS, is paid per request).
        self._read_entries = MicroBatcher(self.ledger.entries, max_items=100)
        self._send_results = MicroBatcher(self._send_batch, max_items=BATCH_LIMIT)
        self._record_sent = MicroBatcher(self.ledger.record_sent, max_items=BATCH_WRITE_LIMIT)
        self._flushing: asyncio.Task | None = None
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self, *, idle_exit_seconds: float | None = None) -> WorkerStreamStats:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=AGENT_THREADS, thread_name_prefix="agent"))
        visibility = await asyncio.to_thread(self._visibility_seconds)
        background = [asyncio.create_task(self._keep_alive(visibility)), asyncio.create_task(self._housekeeping())]
        in_flight: set[asyncio.Task] = set()
        last_work = time.monotonic()
        try:
            while not self._stopping.is_set():
                free = self.config.batch.concurrency - len(in_flight)
                if free <= 0:
                    await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                    continue
                try:
                    messages = await asyncio.to_thread(self._receive, min(free, RECEIVE_AT_ONCE))
                except (BotoCoreError, ClientError) as exc:
                    log.warning("receiving rows failed: %s", exc)
                    await asyncio.sleep(1)
                    continue
                for message in messages:
                    self.held.add(message["ReceiptHandle"])
                    task = asyncio.create_task(self.handle_message(message))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                if messages or in_flight or self.part.rows:
                    last_work = time.monotonic()
                elif idle_exit_seconds is not None and time.monotonic() - last_work > idle_exit_seconds:
                    break
            if in_flight:
                await asyncio.wait(in_flight)
            await self._stop_background(background)
            if self._flushing is not None:
                await self._flushing
            await self.flush()
        finally:
            await self._stop_background(background)
            self.stats.stopped = True
            await asyncio.to_thread(self._publish_stats)
        return self.stats

    @staticmethod
    async def _stop_background(tasks: list[asyncio.Task]) -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _visibility_seconds(self) -> int:
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.queues.source_url,
                                                   AttributeNames=["VisibilityTimeout"])["Attributes"]
        return int(attributes.get("VisibilityTimeout", self.config.places.visibility_seconds))

    def _receive(self, count: int) -> list[dict]:
        response = self.sqs.receive_message(QueueUrl=self.queues.source_url, MaxNumberOfMessages=count,
                                            WaitTimeSeconds=1, AttributeNames=["SentTimestamp"])
        return response.get("Messages", [])

    async def handle_message(self, message: dict) -> None:
        receipt = message["ReceiptHandle"]
        self.held.add(receipt)
        sent_ms = message.get("Attributes", {}).get("SentTimestamp")
        parsed, problem = parse_message(message["Body"], message_id=message["MessageId"],
                                        sent_timestamp=int(sent_ms) / 1000 if sent_ms else None)
        try:
            entry = await self._read_entries.submit(parsed.id)
            if entry is not None and entry.part is not None:  # answered, and in a part: nothing left but the delete
                await asyncio.to_thread(self.ensure_part, entry.part)
                await self._delete([receipt])
                self.stats.redeliveries_skipped += 1
                return
            if entry is not None and entry.sent and entry.row is not None:
                row = entry.row
            else:
                row = await self._answer(parsed, problem)
                await self._send_results.submit((parsed, row))
                await self._record_sent.submit((parsed.id, row))
        except (BotoCoreError, ClientError) as exc:  # past the clients' retries: let SQS redeliver it
            log.warning("row %s: %s; it will be redelivered", parsed.id, exc)
            self.held.discard(receipt)
            return
        except Exception:  # noqa: BLE001 - a bug outside the row logic: let go of it rather than hold it forever
            log.exception("row %s: unexpected error; it will be redelivered", parsed.id)
            self.held.discard(receipt)
            return
        self._count(parsed, row)
        self.part.add(AnsweredRow(parsed.id, row, receipt))

    async def _answer(self, message: StreamMessage, problem: str | None) -> list[str]:
        """The row's output, by the batch's row logic: input cells, output fields, metadata."""
        row = {**message.cells(), MESSAGE_ID_COLUMN: message.id}
        if problem is None:
            outcome = await process_rows_or_split(self.processor, [row], chunk=0)
        else:  # answered like a row whose agent refused it, so the row keeps the batch's layout
            config = self.processor.config.model_copy(update={"input_mapping": {}})
            refusing = RowProcessor(config, _refusing_call(problem), self.processor.validator)
            outcome = await refusing.process_chunk([row])
        return outcome.rows[0]

    def _send_batch(self, answers: list[tuple[StreamMessage, list[str]]]) -> list[None]:
        fifo = is_fifo(self.queues.destination_url)
        entries = []
        for index, (message, row) in enumerate(answers):
            cells = dict(zip(self.header, row))
            result = StreamResult(id=message.id, status=cells.get(STATUS_COLUMN, ""), result=cells,
                                  sent_at=message.sent_at, answered_at=self.clock())
            entry: dict[str, Any] = {"Id": str(index), "MessageBody": result.model_dump_json()}
            if fifo:
                digest = hashlib.sha256(f"{self.config.stream_id}\0{message.id}".encode()).hexdigest()
                entry["MessageDeduplicationId"] = digest
                entry["MessageGroupId"] = f"{self.config.stream_id}-{int(digest[:4], 16) % RESULT_GROUPS}"
            entries.append(entry)
        response = self.sqs.send_message_batch(QueueUrl=self.queues.destination_url, Entries=entries)
        if response.get("Failed"):  # the batch's rows are redelivered; a resent result is deduplicated (FIFO)
            failed = response["Failed"][0]
            raise ClientError({"Error": {"Code": failed.get("Code", "SendFailed"), "Message": failed.get("Message", "")}},
                              "SendMessageBatch")
        return [None] * len(answers)

    def _count(self, message: StreamMessage, row: list[str]) -> None:
        self.stats.rows_answered += 1
        self.stats.rows_failed += dict(zip(self.header, row)).get(STATUS_COLUMN) != "SUCCEEDED"
        if message.sent_at:
            self.latency.add((self.clock() - message.sent_at) * 1000)

    async def flush(self) -> None:
        """Write the rolling part now (whatever it holds), then delete its messages."""
        rows = self.part.take()
        if not rows:
            return
        self._seq += 1
        uri = part_uri(self.config.parts_prefix, self.worker_id, self._seq, self.clock())
        claimed: list[AnsweredRow] = []
        try:
            ids = list(dict.fromkeys(row.message_id for row in rows))
            await asyncio.to_thread(self.ledger.write_manifest, uri, ids)
            slices = [ids[start:start + CLAIMS_PER_THREAD] for start in range(0, len(ids), CLAIMS_PER_THREAD)]
            won = set().union(*await asyncio.gather(*(asyncio.to_thread(self.ledger.claim, some, uri)
                                                      for some in slices)))
            firsts = {row.message_id: row for row in reversed(rows)}  # an id received twice: its first answer
            if won:
                await asyncio.to_thread(self._put_part, uri, [firsts[message_id].row for message_id in ids
                                                              if message_id in won])
                self.stats.parts_written += 1
            await self._delete([row.receipt_handle for row in rows if row.message_id in won])
        except (BotoCoreError, ClientError) as exc:  # redelivered, then the ledger finishes what was started
            log.warning("part %s: %s; its rows will be redelivered", uri, exc)
        finally:
            # A row another part claimed (a duplicate delivery answered elsewhere): its message is left to
            # reappear and be deleted by step 1, once that part exists.
            for row in rows:
                self.held.discard(row.receipt_handle)

    def _put_part(self, uri: str, rows: list[list[str]]) -> None:
        body = csv_bytes([self.header], neutralize=False) + csv_bytes(rows, neutralize=self.config.batch.neutralize_formulas)
        put_bytes(self.s3, uri, body, "text/csv")
        self.known_parts.add(uri)

    def ensure_part(self, uri: str) -> None:
        """The part exists in S3; a part whose writer died after claiming its rows is written from the ledger."""
        if uri in self.known_parts or object_exists(self.s3, uri):
            self.known_parts.add(uri)
            return
        log.warning("part %s was claimed but not written (its worker died?): writing it from the ledger", uri)
        self._put_part(uri, [row for _, row in self.ledger.claimed_rows(uri)])

    async def _delete(self, receipts: list[str]) -> None:
        for start in range(0, len(receipts), BATCH_LIMIT):
            batch = receipts[start:start + BATCH_LIMIT]
            try:
                await asyncio.to_thread(self.sqs.delete_message_batch, QueueUrl=self.queues.source_url,
                                        Entries=[{"Id": str(i), "ReceiptHandle": r} for i, r in enumerate(batch)])
            except (BotoCoreError, ClientError) as exc:  # redelivered; step 1 deletes it then
                log.warning("could not delete %d answered messages: %s", len(batch), exc)
            self.held.difference_update(batch)

    async def _keep_alive(self, visibility: int) -> None:
        while True:
            await asyncio.sleep(max(1.0, visibility / 3))
            receipts = list(self.held)
            for start in range(0, len(receipts), BATCH_LIMIT):
                entries = [{"Id": str(i), "ReceiptHandle": r, "VisibilityTimeout": visibility}
                           for i, r in enumerate(receipts[start:start + BATCH_LIMIT])]
                try:
                    await asyncio.to_thread(self.sqs.change_message_visibility_batch,
                                            QueueUrl=self.queues.source_url, Entries=entries)
                except (BotoCoreError, ClientError) as exc:  # two more ticks before they become visible
                    log.warning("could not extend the visibility of %d rows: %s", len(entries), exc)

    async def _housekeeping(self) -> None:
        """Write the part when it is due, publish progress, and watch for the stop marker."""
        last_progress = last_stop_check = 0.0
        while True:
            await asyncio.sleep(HOUSEKEEPING_SECONDS)
            if self.part.due() and (self._flushing is None or self._flushing.done()):
                self._flushing = asyncio.create_task(self.flush())
            now = time.monotonic()
            if now - last_progress >= PROGRESS_SECONDS:
                last_progress = now
                await asyncio.to_thread(self._publish_stats)
            if now - last_stop_check >= STOP_CHECK_SECONDS:
                last_stop_check = now
                try:
                    if await asyncio.to_thread(stop_requested, self.s3, self.config):
                        log.info("stream %s: stop requested", self.config.stream_id)
                        self.stop()
                except (BotoCoreError, ClientError) as exc:
                    log.warning("could not check the stop marker: %s", exc)

    def _publish_stats(self) -> None:
        self.stats.updated_at = self.clock()
        self.stats.latency_p50_ms, self.stats.latency_p95_ms = self.latency.p(50), self.latency.p(95)
        try:
            self.ledger.put_worker_stats(self.stats)
        except (BotoCoreError, ClientError) as exc:  # informative only
            log.warning("progress update failed: %s", exc)


def _refusing_call(problem: str) -> AgentCall:
    async def call(inputs: dict[str, Any]):
        raise invalid_message_error(problem)

    return call


def run_stream_worker(*, s3, sqs, ddb, config: StreamConfig, queues: StreamQueues,
                      idle_exit_seconds: float | None = None) -> WorkerStreamStats:
    """Run until the stop marker, SIGTERM/SIGINT (or idle for ``idle_exit_seconds``); returns the worker's figures."""
    worker = StreamWorker(s3=s3, sqs=sqs, ddb=ddb, config=config, queues=queues)
    return run_until_stopped(worker, idle_exit_seconds=idle_exit_seconds)
