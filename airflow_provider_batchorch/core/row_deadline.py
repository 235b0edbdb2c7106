"""The time budget of one row's agent call, shared between the row processor and the agent call.

``RowProcessor`` gives every row a ``RowDeadline`` (in the ``ROW_DEADLINE`` context variable) and awaits the
agent call with ``deadline.run(...)``. An agent call that enforces the budget itself (the supervised process pool)
marks the deadline ``managed``: it restarts the clock when it hands the row to a child process (a row re-run
because another row crashed its child gets the whole budget again) and fails the row with ``AGENT_TIMEOUT`` and
the right culprit; ``run`` then only steps in ``MANAGED_GRACE_SECONDS`` later, as a safety net.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any, Awaitable

MANAGED_GRACE_SECONDS = 2.0

ROW_DEADLINE: ContextVar["RowDeadline | None"] = ContextVar("batchorch_row_deadline", default=None)


class RowDeadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.managed = False
        self.deadline = asyncio.get_running_loop().time() + seconds

    def restart(self) -> float:
        """The full budget again, from now; returns the new deadline (loop time)."""
        self.deadline = asyncio.get_running_loop().time() + self.seconds
        return self.deadline

    async def run(self, awaitable: Awaitable[Any]) -> Any:
        """Await ``awaitable`` until the (possibly moved) deadline; then cancel it and raise ``TimeoutError``."""
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(awaitable)
        try:
            while True:
                limit = self.deadline + (MANAGED_GRACE_SECONDS if self.managed else 0.0)
                remaining = limit - loop.time()
                if remaining <= 0:
                    break
                done, _ = await asyncio.wait({task}, timeout=remaining)
                if done:
                    return task.result()
        except asyncio.CancelledError:
            task.cancel()
            raise
        task.cancel()
        try:
            await task
        except BaseException:  # noqa: BLE001 - the call was abandoned; what it raises while cancelled is moot
            pass
        raise TimeoutError(f"no answer within {self.seconds:g}s")
