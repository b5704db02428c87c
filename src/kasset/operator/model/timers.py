"""One timer for the whole operator: retries, deadlines, pending timeouts, status flushes,
TTLs. Keys are scheduled at a time; a key scheduled twice keeps its earliest time.

A key is a small frozen value (`StatusFlushDue(run)`, `PendingDeadline(run, step,
attempt)`, ...) whose type is registered with its handler by the component that owns it
(`timers.on(StatusFlushDue, writer.fire)`), so `fire` dispatches on the type, never on a
string tag.

`due(now)` is pure bookkeeping (tested with a fake clock); `run(clock, fire)` is the one
asyncio task that sleeps until the earliest time, never polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["Timers", "UnknownTimerError"]

K = TypeVar("K", bound=Hashable)


class UnknownTimerError(TypeError):
    """A key fired whose type no component registered a handler for (a bug, not input)."""


class Timers:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Hashable]] = []
        self._at: dict[Hashable, float] = {}
        self._seq = itertools.count()
        self._changed = asyncio.Event()
        self._handlers: dict[type[Any], Callable[[Any], None]] = {}

    def on(self, kind: type[K], handler: Callable[[K], None]) -> None:
        """Keys of type `kind` are fired by calling `handler(key)`."""
        self._handlers[kind] = handler

    def fire(self, key: Hashable) -> None:
        """Calls the handler registered for the type of `key`."""
        handler = self._handlers.get(type(key))
        if handler is None:
            raise UnknownTimerError(f"no handler registered for timer key {key!r}")
        handler(key)

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

    async def run(
        self, clock: Callable[[], float], fire: Callable[[Hashable], None] | None = None
    ) -> None:
        """Sleeps until the next key is due, fires it (with `fire`, else the registered
        handler), forever (cancel the task to stop)."""
        fire = fire or self.fire
        while True:
            self._changed.clear()
            for key in self.due(clock()):
                fire(key)
            at = self.next_time()
            timeout = None if at is None else max(0.0, at - clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout)
