"""`HistoryWriter`: takes events off the operator's hot path and writes them in batches.

`submit` only appends to a bounded in-memory buffer (no I/O, no waiting); a background
thread drains it into the store in batches. When the database is down, batches stay in
the buffer and are retried with exponential backoff, so nothing accepted is lost while
the buffer has room; when it is full, new events are refused and counted by kind
(`stats.dropped`), never silently. A thread, not an asyncio task: SQLAlchemy and its
drivers block, and the operator's event loop must not.

The clock and the sleep are injected; `drain_once` is one step of the loop, so tests
drive retries and backoff without waiting.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import sqlalchemy as sa

from kasset.history.events import HistoryEvent

__all__ = ["EventAppender", "HistoryWriter", "WriterStats"]

log = logging.getLogger(__name__)

DEFAULT_CAPACITY = 100_000
DEFAULT_BATCH = 500
DEFAULT_FLUSH_INTERVAL_S = 0.2
MIN_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0


# Errors of the data, not of the connection: retrying the same batch cannot help. (A
# ProgrammingError, such as a missing table, is retried: it is fixed by migrating, and
# dropping every event meanwhile would lose what the buffer could have kept.)
_NEVER = (sa.exc.IntegrityError, sa.exc.DataError)


class EventAppender(Protocol):
    def append(self, events: Sequence[HistoryEvent]) -> int: ...


@dataclass(slots=True)
class WriterStats:
    """Counters for metrics: accepted = written + pending + rejected."""

    accepted: int = 0
    written: int = 0  # newly stored (a duplicate id counts as handled, not written)
    duplicates: int = 0
    failures: int = 0  # batches the database refused for a reason that may pass
    dropped: Counter[str] = field(default_factory=Counter)  # refused at submit, by kind
    rejected: Counter[str] = field(default_factory=Counter)  # the database will never take
    last_error: str | None = None


class HistoryWriter:
    """Buffers events and writes them to `store` from a background thread.

    >>> writer = HistoryWriter(store); writer.start()  # doctest: +SKIP
    >>> writer.submit(event)  # True: accepted, will be written  # doctest: +SKIP
    """

    def __init__(
        self,
        store: EventAppender,
        *,
        capacity: int = DEFAULT_CAPACITY,
        batch_size: int = DEFAULT_BATCH,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._capacity = capacity
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._clock = clock
        self._buffer: deque[HistoryEvent] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._idle = threading.Condition(self._lock)
        self._writing = 0  # events taken from the buffer and not yet settled
        self._backoff = 0.0
        self._retry_at = 0.0
        self._thread: threading.Thread | None = None
        self.stats = WriterStats()

    @property
    def pending(self) -> int:
        """Accepted and not yet written (in the buffer or in the batch being written)."""
        with self._lock:
            return len(self._buffer) + self._writing

    def submit(self, event: HistoryEvent) -> bool:
        """Accepts `event` for writing unless the buffer is full (then counts it)."""
        return self.submit_many((event,)) == 1

    def submit_many(self, events: Iterable[HistoryEvent]) -> int:
        accepted = 0
        with self._lock:
            for event in events:
                if len(self._buffer) + self._writing >= self._capacity:
                    self.stats.dropped[event.kind] += 1
                    continue
                self._buffer.append(event)
                accepted += 1
            self.stats.accepted += accepted
        if accepted and len(self._buffer) >= self._batch_size:
            self._wake.set()
        return accepted

    def drain_once(self) -> bool:
        """Writes one batch if there is one and no backoff is pending; True if it did."""
        if self._clock() < self._retry_at:
            return False
        with self._lock:
            batch = [
                self._buffer.popleft() for _ in range(min(self._batch_size, len(self._buffer)))
            ]
            self._writing = len(batch)
        if not batch:
            return False
        try:
            written, rejected = self._write(batch)
        except Exception as error:
            self._put_back(batch)
            self.stats.failures += 1
            self.stats.last_error = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
            self._backoff = min(MAX_BACKOFF_S, max(MIN_BACKOFF_S, self._backoff * 2))
            self._retry_at = self._clock() + self._backoff
            log.warning(
                "history: writing %d events failed (%s); retrying in %.1fs, %d pending",
                len(batch), self.stats.last_error, self._backoff, self.pending,
            )  # fmt: skip
            return False
        with self._lock:
            self._writing = 0
            self.stats.written += written
            self.stats.duplicates += len(batch) - written - rejected
            self._idle.notify_all()
        self._backoff = 0.0
        self._retry_at = 0.0
        return True

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="kasset-history", daemon=True)
            self._thread.start()

    def flush(self, timeout: float) -> bool:
        """Waits until everything accepted so far is written; False on timeout."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        with self._lock:
            while self._buffer or self._writing:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.05))
                self._wake.set()
        return True

    def stop(self, timeout: float = 10.0) -> bool:
        """Flushes (up to `timeout`) and stops the thread; False if events are left."""
        flushed = self.flush(timeout)
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        return flushed

    def _write(self, batch: list[HistoryEvent]) -> tuple[int, int]:
        """(newly written, rejected for good); raises when the database may recover."""
        try:
            return self._store.append(batch), 0
        except _NEVER:
            pass
        # Something in the batch the database will never take: find it, store the rest.
        written = rejected = 0
        for event in batch:
            try:
                written += self._store.append([event])
            except _NEVER as error:
                rejected += 1
                with self._lock:
                    self.stats.rejected[event.kind] += 1
                log.error("history: the database rejects event %s (%s): %s", event.id,
                          event.kind, str(error).splitlines()[0][:300])  # fmt: skip
        return written, rejected

    def _put_back(self, batch: list[HistoryEvent]) -> None:
        with self._lock:
            self._buffer.extendleft(reversed(batch))
            self._writing = 0
            self._idle.notify_all()

    def _run(self) -> None:
        while not self._stopping.is_set():
            wrote = False
            with contextlib.suppress(Exception):  # drain_once logs and counts its failures
                wrote = self.drain_once()
            if wrote and len(self._buffer) >= self._batch_size:
                continue  # catching up: no pause between batches
            wait = self._flush_interval
            if self._retry_at:
                wait = max(0.01, self._retry_at - self._clock())
            self._wake.wait(wait)
            self._wake.clear()
