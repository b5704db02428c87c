"""The operator's client-side limit on API requests, with priorities.

A plain token bucket serves requests in the order they arrive: when a backfill makes a
thousand steps ready at once, each step's pod create queues behind the Events and Asset
writes of the steps before it, and the dead time between steps grows to seconds. Here
requests wait in priority order instead: what starts or stops a pod (and the run status)
goes first, Asset status next, Kubernetes Events last. Events are informational: when more
than `max_waiting_low` of them are already waiting, a new one is dropped (and counted)
rather than let the queue grow without bound, as client-go's event broadcaster does.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from enum import IntEnum

__all__ = ["Priority", "PriorityLimiter", "ShedError", "TokenBucket"]


class Priority(IntEnum):
    """Lower goes first."""

    CRITICAL = 0  # pods, run status, reads
    NORMAL = 1  # Asset status, graph bookkeeping
    LOW = 2  # Kubernetes Events


class ShedError(Exception):
    """A LOW request was shed because too many were already waiting."""


class TokenBucket:
    """`qps` requests a second on average, bursts of `burst`, as client-go limits them."""

    def __init__(self, qps: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.qps, self.burst, self._clock = qps, burst, clock
        self._tokens = float(burst)
        self._last = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.qps)
        self._last = now

    def try_take(self) -> bool:
        """Takes a token if one is there."""
        self._refill()
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    def give_back(self) -> None:
        """Returns a token taken for nobody."""
        self._tokens = min(self.burst, self._tokens + 1)

    def wait_time(self) -> float:
        """Seconds until a token is there."""
        self._refill()
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.qps


class PriorityLimiter:
    """Hands out the bucket's tokens to waiters by priority, then by arrival."""

    def __init__(
        self,
        bucket: TokenBucket,
        max_waiting_low: int = 1000,
        on_drop: Callable[[], None] | None = None,
    ) -> None:
        self.bucket = bucket
        self.max_waiting_low = max_waiting_low
        self.on_drop = on_drop
        self._heap: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._waiting_low = 0
        self._pump: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        return len(self._heap)

    async def acquire(self, priority: Priority = Priority.CRITICAL) -> None:
        """Returns when the request may be sent; raises `ShedError` for a shed LOW one."""
        if not self._heap and self.bucket.try_take():
            return
        if priority is Priority.LOW:
            if self._waiting_low >= self.max_waiting_low:
                if self.on_drop is not None:
                    self.on_drop()
                raise ShedError("too many Kubernetes Events waiting")
            self._waiting_low += 1
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (int(priority), next(self._seq), future))
        if self._pump is None or self._pump.done():
            self._pump = asyncio.get_running_loop().create_task(self._run())
        try:
            await future
        finally:
            if priority is Priority.LOW:
                self._waiting_low -= 1

    async def _run(self) -> None:
        while self._heap:
            wait = self.bucket.wait_time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not self.bucket.try_take():
                continue
            while self._heap:
                _, _, future = heapq.heappop(self._heap)
                if not future.done():  # a waiter cancelled meanwhile gives its turn on
                    future.set_result(None)
                    break
            else:
                self.bucket.give_back()  # nobody left to use it
