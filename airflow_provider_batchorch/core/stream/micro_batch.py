"""Many concurrent single requests, sent as one batch call: each row of a stream awaits its own answer while
the worker makes one ``SendMessageBatch``/``TransactWriteItems``/``BatchGetItem`` for the rows in flight.

A batch goes when it holds ``max_items`` or its first item has waited ``max_wait`` seconds. ``run`` takes the
batch's items and returns one answer per item, in order; it runs in a thread (it is a blocking AWS call). When
it raises, every item of the batch gets the exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class MicroBatcher(Generic[T, R]):
    def __init__(self, run: Callable[[list[T]], Sequence[R]], *, max_items: int, max_wait: float = 0.005) -> None:
        self.run, self.max_items, self.max_wait = run, max_items, max_wait
        self._pending: list[tuple[T, asyncio.Future]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task] = set()

    async def submit(self, item: T) -> R:
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if len(self._pending) >= self.max_items:
            self._send()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.max_wait, self._send)
        return await future

    def _send(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending[:self.max_items], self._pending[self.max_items:]
        if self._pending:
            self._timer = asyncio.get_running_loop().call_later(self.max_wait, self._send)
        if batch:
            task = asyncio.create_task(self._run(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[T, asyncio.Future]]) -> None:
        try:
            answers = await asyncio.to_thread(self.run, [item for item, _ in batch])
        except Exception as exc:  # noqa: BLE001 - each waiting item gets it
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), answer in zip(batch, answers, strict=True):
            if not future.done():
                future.set_result(answer)
