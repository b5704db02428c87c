"""The API limiter serves pods before Asset status before Events, sheds Events when too
many wait, and keeps the token bucket's average rate."""

from __future__ import annotations

import asyncio

import pytest

from kasset.operator.kube.ratelimit import Priority, PriorityLimiter, ShedError, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_allows_a_burst_then_its_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(qps=10, burst=3, clock=clock)
    assert [bucket.try_take() for _ in range(4)] == [True, True, True, False]
    assert bucket.wait_time() == pytest.approx(0.1)
    clock.now = 0.1
    assert bucket.try_take() and not bucket.try_take()


def test_waiters_are_served_by_priority_then_by_arrival() -> None:
    async def scenario() -> list[str]:
        limiter = PriorityLimiter(TokenBucket(qps=200, burst=1))
        await limiter.acquire()  # the burst is used up: everyone below waits
        served: list[str] = []

        async def ask(name: str, priority: Priority) -> None:
            await limiter.acquire(priority)
            served.append(name)

        await asyncio.gather(
            ask("event-1", Priority.LOW),
            ask("asset-1", Priority.NORMAL),
            ask("event-2", Priority.LOW),
            ask("pod-1", Priority.CRITICAL),
            ask("pod-2", Priority.CRITICAL),
        )
        return served

    assert asyncio.run(scenario()) == ["pod-1", "pod-2", "asset-1", "event-1", "event-2"]


def test_events_beyond_the_waiting_limit_are_shed_and_counted() -> None:
    async def scenario() -> tuple[int, int]:
        dropped: list[int] = []
        limiter = PriorityLimiter(
            TokenBucket(qps=1000, burst=1), max_waiting_low=2, on_drop=lambda: dropped.append(1)
        )
        await limiter.acquire()
        results = await asyncio.gather(
            *(limiter.acquire(Priority.LOW) for _ in range(5)),
            limiter.acquire(Priority.CRITICAL),
            return_exceptions=True,
        )
        shed = sum(isinstance(r, ShedError) for r in results)
        return shed, len(dropped)

    assert asyncio.run(scenario()) == (3, 3)


def test_a_cancelled_waiter_gives_its_turn_to_the_next() -> None:
    async def scenario() -> bool:
        limiter = PriorityLimiter(TokenBucket(qps=100, burst=1))
        await limiter.acquire()
        first = asyncio.create_task(limiter.acquire(Priority.CRITICAL))
        second = asyncio.create_task(limiter.acquire(Priority.NORMAL))
        await asyncio.sleep(0)
        first.cancel()
        await asyncio.wait_for(second, timeout=2)
        return limiter.waiting == 0

    assert asyncio.run(scenario())
