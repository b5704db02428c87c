"""One timer for the whole operator: retries, deadlines, pending timeouts, status flushes,
TTLs. Keys are scheduled at a time; a key scheduled twice keeps its earliest time.

`due(now)` is pure bookkeeping (tested with a fake clock); `run(clock, fire)` is the one
asyncio task that sleeps until the earliest time, never polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Callable, Hashable

__all__ = ["Timers"]


class Timers:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Hashable]] = []
        self._at: dict[Hashable, float] = {}
        self._seq = itertools.count()
        self._changed = asyncio.Event()

    def schedule(self, key: Hashable, at: float) -> None:
        """Fire `key` at `at` (or earlier, if it is already scheduled earlier)."""
        current = self._at.get(key)
        if current is not None and current <= at:
            return
        self._at[key] = at
        heapq.heappush(self._heap, (at, next(self._seq), key))
        if self._heap[0][2] == key:
            self._changed.set()

    def cancel(self, key: Hashable) -> None:
        self._at.pop(key, None)  # the heap entry goes stale and is skipped

    def next_time(self) -> float | None:
        while self._heap:
            at, _, key = self._heap[0]
            if self._at.get(key) == at:
                return at
            heapq.heappop(self._heap)
        return None

    def due(self, now: float) -> list[Hashable]:
        """Removes and returns the keys whose time has come, earliest first."""
        keys: list[Hashable] = []
        while self._heap and self._heap[0][0] <= now:
            at, _, key = heapq.heappop(self._heap)
            if self._at.get(key) == at:
                del self._at[key]
                keys.append(key)
        return keys

    def __len__(self) -> int:
        return len(self._at)

    async def run(self, clock: Callable[[], float], fire: Callable[[Hashable], None]) -> None:
        """Sleeps until the next key is due, fires it, forever (cancel the task to stop)."""
        while True:
            self._changed.clear()
            for key in self.due(clock()):
                fire(key)
            at = self.next_time()
            timeout = None if at is None else max(0.0, at - clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout)
