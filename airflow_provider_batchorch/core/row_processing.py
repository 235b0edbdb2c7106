"""Process the rows of one chunk: call the agent for each with bounded concurrency and a per-row timeout,
validate every output against the agent's schema, and turn each row into its output cells.

A row never disappears: whatever goes wrong for it (bad input, agent error, timeout, invalid JSON, schema
violation) becomes that row's ``_status = FAILED`` and ``_error_message``; the other rows go on.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from airflow_provider_batchorch.core.csv.output import format_cell
from airflow_provider_batchorch.core.errors import AgentCrashedError, AgentRowError, AgentTimeoutError
from airflow_provider_batchorch.core.agent_call import AgentCall
from airflow_provider_batchorch.core.cascade_tally import CascadeTally
from airflow_provider_batchorch.core.batch_api.models import BATCH_API_SOURCE
from airflow_provider_batchorch.core.mapping import build_agent_inputs
from airflow_provider_batchorch.core.models import ROW_FAILED, ROW_SUCCEEDED, BatchConfig
from airflow_provider_batchorch.core.output_validation import OutputValidator
from airflow_provider_batchorch.core.row_deadline import ROW_DEADLINE, RowDeadline
from airflow_provider_batchorch.core.transforms.row_filter import skipped_cells
from airflow_provider_batchorch.core.transforms.row_transforms import RowTransforms


@dataclass
class RowFailure:
    code: str
    reason: str  # short and groupable: what the summary counts
    message: str  # what the user reads in _error_message


@dataclass
class ChunkOutcome:
    rows: list[list[str]]
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0  # rows the row filter left out (_status SKIPPED)
    agent_calls: int = 0
    rows_reused: int = 0
    calls_saved: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    rows_batch_api: int = 0  # answered from the batch job's answers (cost mode)
    failure_reasons: Counter = field(default_factory=Counter)
    row_finished_at: list[float] = field(default_factory=list)  # time.time() per finished row (throughput)
    cascade: CascadeTally = field(default_factory=CascadeTally)  # which agent of a cascade answered (core/cascade_call.py)


def describe_failure(exc: BaseException, timeout_seconds: float) -> RowFailure:
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        reason = f"Timed out after {timeout_seconds:g}s"
        return RowFailure(AgentTimeoutError.code, reason, f"{reason}; raise timeout_seconds or check the agent")
    if isinstance(exc, AgentTimeoutError):
        return RowFailure(exc.code, exc.reason, f"{exc}; raise timeout_seconds or check the agent")
    if isinstance(exc, AgentRowError):
        return RowFailure(exc.code, exc.reason, str(exc))
    if isinstance(exc, asyncio.CancelledError):  # raised by the agent itself (not our cancelling the row)
        return RowFailure("AGENT_ERROR", "Agent raised CancelledError",
                          "Agent raised asyncio.CancelledError, though nothing cancelled its call: an awaitable it "
                          "used was cancelled (or it raised CancelledError itself); catch it inside the agent")
    if isinstance(exc, SystemExit):  # an in-process agent (isolation: none) that called sys.exit()
        return RowFailure(AgentCrashedError.code, "Agent tried to exit", f"Agent tried to exit: it called sys.exit({exc.code!r})")
    if not isinstance(exc, Exception):  # KeyboardInterrupt and the like, raised by the agent itself
        return RowFailure(AgentCrashedError.code, "Agent tried to exit", f"Agent tried to exit: it raised {type(exc).__name__}")
    name = type(exc).__name__
    return RowFailure("AGENT_ERROR", f"Agent raised {name}", f"Agent raised {name}: {exc}"[:1000])


def _cancelled_from_outside() -> bool:
    """Whether the running task was asked to cancel (``Task.cancel``): a CancelledError that comes with it is ours
    to propagate; one without it came out of the agent's call."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class RowProcessor:
    """Everything that is the same for every row of a batch, built once per batch and reused per chunk."""

    def __init__(self, config: BatchConfig, agent_call: AgentCall, validator: OutputValidator | None = None):
        self.config = config
        self.agent_call = agent_call
        self.validator = validator or OutputValidator(config.agent.output_schema or {"type": "object"})
        self.transforms = RowTransforms(config.agent, config.columns)  # the batch's transformation rules

    async def process_chunk(
        self, rows: list[dict[str, str]], *, on_progress: Callable[[int, int], None] | None = None
    ) -> ChunkOutcome:
        outcome = ChunkOutcome(rows=[[] for _ in rows])
        next_index = iter(range(len(rows)))

        async def lane() -> None:
            for index in next_index:
                outcome.rows[index] = await self._process_row(rows[index], outcome)
                outcome.row_finished_at.append(time.time())
                if on_progress:
                    on_progress(outcome.succeeded + outcome.skipped, outcome.failed)

        lanes = min(self.config.row_concurrency, len(rows)) or 1
        await asyncio.gather(*(lane() for _ in range(lanes)))
        return outcome

    async def _process_row(self, row: dict[str, str], outcome: ChunkOutcome) -> list[str]:
        config = self.config
        started = time.perf_counter()
        output: dict[str, Any] = {}
        failure: RowFailure | None = None
        called = False
        answer = None  # a cascade's CascadeAnswer: the agent that answered the row
        try:
            if self.transforms.skips(row):  # the row filter left it out: back as read, no agent call
                outcome.skipped += 1
                return skipped_cells(row, config)
            inputs = build_agent_inputs(self.transforms.input_row(row), config.input_mapping, config.agent)
            called = True
            deadline = RowDeadline(config.timeout_seconds)
            ROW_DEADLINE.set(deadline)  # this row's lane task: read by an agent call that enforces it itself
            result = await deadline.run(self.agent_call(inputs))
            answer = result.cascade
            if result.reused_from:
                called = False
                outcome.calls_saved += 1
                outcome.rows_reused += result.reused_from == "store"
                outcome.rows_batch_api += result.reused_from == BATCH_API_SOURCE
            outcome.input_tokens += result.input_tokens
            outcome.output_tokens += result.output_tokens
            output = dict(self.transforms.output(self.validator.validate(result.output)))
        except (Exception, SystemExit, KeyboardInterrupt, asyncio.CancelledError) as exc:  # noqa: BLE001 - on its row
            if isinstance(exc, asyncio.CancelledError) and _cancelled_from_outside():
                raise  # our own cancellation (the worker shutting down, a lane given up): not the row's failure
            failure = describe_failure(exc, config.timeout_seconds)
            answer = getattr(exc, "cascade", None)
            # An LLM that was re-asked and still failed has spent tokens all the same.
            outcome.input_tokens += getattr(exc, "input_tokens", 0)
            outcome.output_tokens += getattr(exc, "output_tokens", 0)
        outcome.agent_calls += called
        outcome.cascade.record(answer)
        latency_ms = round((time.perf_counter() - started) * 1000)
        if failure:
            outcome.failed += 1
            outcome.failure_reasons[failure.reason] += 1
        else:
            outcome.succeeded += 1
        original = [row.get(column, "") for column in config.columns]
        produced = [format_cell(output.get(name)) for name in config.output_fields]
        metadata = [
            ROW_FAILED if failure else ROW_SUCCEEDED,
            failure.message if failure else "",
            failure.code if failure else "",
            answer.agent if answer else config.agent.name,
            answer.version if answer else config.agent.version,
            str(latency_ms),
            datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        ]
        return [*original, *produced, *metadata]
