import asyncio
import random

import pytest

from airflow_provider_batchorch.core.adaptive_concurrency import AdaptiveConcurrencyLimiter


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_throttle_halves_down_to_one():
    limiter = AdaptiveConcurrencyLimiter(40, cooldown_seconds=0)
    limiter._in_flight = 40  # all slots in use
    seen = []
    for _ in range(8):
        limiter.on_throttle()
        seen.append(limiter.limit)
    assert seen == [20, 10, 5, 2, 1, 1, 1, 1]


def test_throttle_halves_what_is_really_in_flight():
    limiter = AdaptiveConcurrencyLimiter(64, cooldown_seconds=0)
    limiter._in_flight = 10
    limiter.on_throttle()
    assert limiter.limit == 5


def test_additive_recovery_up_to_the_max():
    limiter = AdaptiveConcurrencyLimiter(10, initial_limit=1)
    limits = []
    for _ in range(200):
        limiter.on_success()
        limits.append(limiter.limit)
    assert limits == sorted(limits), "recovery never goes down"
    assert max(b - a for a, b in zip(limits, limits[1:])) == 1, "additive: one step at a time"
    assert limits[0] == 2 and limits[-1] == 10
    # about one step per window of `limit` successes: from 1 to 10 takes 1 + 2 + ... + 9 = 45 successes
    assert 40 <= limits.index(10) <= 50


def test_a_burst_of_throttles_counts_once_within_the_cooldown():
    clock = Clock()
    limiter = AdaptiveConcurrencyLimiter(32, cooldown_seconds=1.0, clock=clock)
    limiter._in_flight = 32
    for _ in range(32):
        limiter.on_throttle()
    assert limiter.limit == 16 and limiter.throttles == 32 and limiter.decreases == 1
    clock.now = 1.5
    limiter.on_throttle()
    assert limiter.limit == 8


def test_bad_bounds_are_refused():
    with pytest.raises(ValueError):
        AdaptiveConcurrencyLimiter(0)
    with pytest.raises(ValueError):
        AdaptiveConcurrencyLimiter(4, min_limit=5)


def test_in_flight_never_exceeds_the_limit_under_throttling_and_recovers():
    async def main():
        limiter = AdaptiveConcurrencyLimiter(16, cooldown_seconds=0.01)
        rng = random.Random(7)
        peak_over_limit = 0
        throttling = {"on": True}

        async def request(i):
            nonlocal peak_over_limit
            async with limiter:
                peak_over_limit = max(peak_over_limit, limiter.in_flight - limiter.limit)
                await asyncio.sleep(rng.uniform(0, 0.002))
                if throttling["on"] and rng.random() < 0.3:
                    limiter.on_throttle()
                else:
                    limiter.on_success()

        await asyncio.gather(*(request(i) for i in range(300)))
        low = limiter.limit
        throttling["on"] = False
        await asyncio.gather(*(request(i) for i in range(600)))
        return peak_over_limit, low, limiter

    peak_over_limit, low, limiter = asyncio.run(main())
    # a slot taken before a decrease is not taken back, but no new one is handed out above the limit
    assert limiter.in_flight == 0
    assert low < 16
    assert limiter.limit == 16, "recovered to the max once throttling stopped"


def test_waiters_run_when_slots_free_and_exceptions_release_the_slot():
    async def main():
        limiter = AdaptiveConcurrencyLimiter(2)
        order = []

        async def job(name, fail=False):
            async with limiter:
                order.append(name)
                await asyncio.sleep(0.01)
                if fail:
                    raise RuntimeError(name)

        results = await asyncio.gather(job("a", fail=True), job("b"), job("c"), job("d"), return_exceptions=True)
        return limiter, order, results

    limiter, order, results = asyncio.run(main())
    assert order == ["a", "b", "c", "d"]
    assert isinstance(results[0], RuntimeError)
    assert limiter.in_flight == 0


def test_new_slots_wait_while_over_a_lowered_limit():
    async def main():
        limiter = AdaptiveConcurrencyLimiter(4, cooldown_seconds=0)
        started = []
        gate = asyncio.Event()

        async def held(i):
            async with limiter:
                started.append(i)
                await gate.wait()

        holders = [asyncio.create_task(held(i)) for i in range(4)]
        await asyncio.sleep(0.01)
        limiter.on_throttle()  # 4 in flight -> limit 2
        late = asyncio.create_task(held(99))
        await asyncio.sleep(0.01)
        assert 99 not in started and limiter.limit == 2
        gate.set()
        await asyncio.gather(*holders, late)
        return started

    assert asyncio.run(main())[-1] == 99


def test_the_limiter_works_from_one_event_loop_after_another():
    limiter = AdaptiveConcurrencyLimiter(2)

    async def use():
        async with limiter:
            await asyncio.sleep(0)

    asyncio.run(use())
    asyncio.run(use())
    assert limiter.in_flight == 0
