"""An asyncio AIMD concurrency limiter: back off when the agent throttles, recover when it does not.

    limiter = AdaptiveConcurrencyLimiter(max_limit=50)
    async with limiter:          # waits while ``in_flight >= limit``
        ... call the agent ...
    limiter.on_throttle()        # multiplicative decrease: half of what was really in flight, never below 1
    limiter.on_success()         # additive increase: about +1 per ``limit`` successes, never above max_limit

Throttles that arrive together (every request of a burst gets its 429) count once: after a decrease, further
throttles within ``cooldown_seconds`` are ignored. The limit is a float so that the increase is smooth;
``limit`` reports it rounded down.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable


class AdaptiveConcurrencyLimiter:
    def __init__(
        self,
        max_limit: int,
        *,
        min_limit: int = 1,
        initial_limit: int | None = None,
        cooldown_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_limit < 1 or not 1 <= min_limit <= max_limit:
            raise ValueError("need 1 <= min_limit <= max_limit")
        self.max_limit = max_limit
        self.min_limit = min_limit
        self.cooldown_seconds = cooldown_seconds
        self._clock = clock
        self._limit = float(initial_limit if initial_limit is not None else max_limit)
        self._limit = min(max(self._limit, min_limit), max_limit)
        self._in_flight = 0
        self._last_decrease: float | None = None
        self._condition: asyncio.Condition | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeups: set[asyncio.Task[None]] = set()
        self.throttles = 0
        self.decreases = 0

    @property
    def limit(self) -> int:
        return int(self._limit)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def _cond(self) -> asyncio.Condition:
        # Created lazily, so that the limiter can be built outside a running loop, and again for a new loop
        # (a condition belongs to one loop; the limit itself carries over).
        loop = asyncio.get_running_loop()
        if self._condition is None or self._loop is not loop:
            self._condition, self._loop = asyncio.Condition(), loop
            self._in_flight = 0  # slots of a finished loop are gone with it
        return self._condition

    async def acquire(self) -> None:
        condition = self._cond()
        async with condition:
            await condition.wait_for(lambda: self._in_flight < self.limit)
            self._in_flight += 1

    async def release(self) -> None:
        condition = self._cond()
        async with condition:
            self._in_flight -= 1
            condition.notify_all()

    async def __aenter__(self) -> "AdaptiveConcurrencyLimiter":
        await self.acquire()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.release()

    def on_throttle(self) -> None:
        self.throttles += 1
        now = self._clock()
        if self._last_decrease is not None and now - self._last_decrease < self.cooldown_seconds:
            return
        self._last_decrease = now
        self.decreases += 1
        really_used = min(self._limit, max(self._in_flight, 1))
        self._limit = max(float(self.min_limit), really_used / 2)

    def on_success(self) -> None:
        before = self.limit
        self._limit = min(float(self.max_limit), self._limit + 1.0 / max(self._limit, 1.0))
        if self.limit > before and self._condition is not None:
            self._wake_waiters()

    def _wake_waiters(self) -> None:
        condition = self._condition
        assert condition is not None

        async def notify() -> None:
            async with condition:
                condition.notify_all()

        try:
            task = asyncio.get_running_loop().create_task(notify())
        except RuntimeError:  # no running loop: nobody can be waiting
            return
        self._wakeups.add(task)
        task.add_done_callback(self._wakeups.discard)
