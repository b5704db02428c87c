"""The batched writer, driven step by step (`drain_once`) with a fake clock and a store
that fails on demand: batching, backoff, catching up, the bound and its counters. The
real databases, and a real outage of PostgreSQL, are in tests/integration/history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

from kasset.history import HistoryEvent
from kasset.history.writer import MAX_BACKOFF_S, MIN_BACKOFF_S, HistoryWriter


def _event(number: int, kind: str = "STEP_STARTED") -> HistoryEvent:
    return HistoryEvent(
        id=f"e{number}", kind=kind, namespace="data", graph="shop",
        timestamp=datetime(2026, 1, 1, tzinfo=UTC), run="r", asset="a",
    )  # fmt: skip


class FlakyStore:
    """Keeps what it is given, by id; `down` makes every append fail as a dead server."""

    def __init__(self) -> None:
        self.stored: dict[str, HistoryEvent] = {}
        self.batches: list[int] = []
        self.down = False
        self.poison: set[str] = set()

    def append(self, events: Sequence[HistoryEvent]) -> int:
        if self.down:
            raise sa.exc.OperationalError("INSERT", {}, ConnectionError("server closed"))
        if any(event.id in self.poison for event in events):
            raise sa.exc.IntegrityError("INSERT", {}, ValueError("violates a constraint"))
        self.batches.append(len(events))
        fresh = [event for event in events if event.id not in self.stored]
        self.stored.update((event.id, event) for event in fresh)
        return len(fresh)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_events_are_written_in_batches_of_the_configured_size() -> None:
    store = FlakyStore()
    writer = HistoryWriter(store, batch_size=4, clock=Clock())
    assert writer.submit_many(_event(n) for n in range(10)) == 10
    while writer.drain_once():
        pass
    assert store.batches == [4, 4, 2]
    assert list(store.stored) == [f"e{n}" for n in range(10)]
    assert (writer.stats.accepted, writer.stats.written, writer.pending) == (10, 10, 0)


def test_while_the_database_is_down_events_wait_and_retries_back_off() -> None:
    store, clock = FlakyStore(), Clock()
    writer = HistoryWriter(store, batch_size=3, clock=clock)
    writer.submit_many(_event(n) for n in range(5))
    store.down = True

    waits = []
    for _ in range(8):
        assert not writer.drain_once()
        assert not writer.drain_once()  # still backing off: no attempt at all
        waits.append(writer._retry_at - clock.now)
        clock.now = writer._retry_at
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, MAX_BACKOFF_S, MAX_BACKOFF_S]
    assert waits[0] == MIN_BACKOFF_S
    assert writer.stats.failures == 8
    assert "OperationalError" in (writer.stats.last_error or "")
    assert writer.pending == 5

    writer.submit_many(_event(n) for n in range(5, 7))
    store.down = False
    while writer.drain_once():
        pass
    assert list(store.stored) == [f"e{n}" for n in range(7)]  # in order, none lost
    assert writer._retry_at == 0.0
    assert writer.pending == 0


def test_a_full_buffer_refuses_new_events_and_counts_them_by_kind() -> None:
    store = FlakyStore()
    store.down = True
    writer = HistoryWriter(store, capacity=3, batch_size=2, clock=Clock())
    assert writer.submit_many([_event(1), _event(2)]) == 2
    writer.drain_once()  # fails: the batch goes back, still counting against the bound
    assert writer.submit(_event(3))
    assert not writer.submit(_event(4, kind="ASSET_MATERIALIZED"))
    assert not writer.submit(_event(5, kind="ASSET_MATERIALIZED"))
    assert not writer.submit(_event(6))
    assert dict(writer.stats.dropped) == {"ASSET_MATERIALIZED": 2, "STEP_STARTED": 1}
    assert writer.stats.accepted == 3
    assert writer.pending == 3


def test_an_event_the_database_will_never_take_is_counted_and_the_rest_written() -> None:
    store = FlakyStore()
    store.poison = {"e2"}
    writer = HistoryWriter(store, batch_size=5, clock=Clock())
    writer.submit_many(_event(n) for n in range(5))
    assert writer.drain_once()
    assert sorted(store.stored) == ["e0", "e1", "e3", "e4"]
    assert dict(writer.stats.rejected) == {"STEP_STARTED": 1}
    assert (writer.stats.written, writer.stats.duplicates, writer.pending) == (4, 0, 0)


def test_events_already_stored_count_as_duplicates_not_as_written() -> None:
    store = FlakyStore()
    writer = HistoryWriter(store, clock=Clock())
    writer.submit_many([_event(1), _event(2)])
    writer.drain_once()
    writer.submit_many([_event(2), _event(3)])
    writer.drain_once()
    assert (writer.stats.written, writer.stats.duplicates) == (3, 1)


def test_the_background_thread_writes_everything_before_stop_returns() -> None:
    store = FlakyStore()
    writer = HistoryWriter(store, batch_size=50, flush_interval=0.01)
    writer.start()
    for n in range(1000):
        assert writer.submit(_event(n))
    assert writer.stop(timeout=10)
    assert len(store.stored) == 1000
    assert max(store.batches) <= 50


def test_flush_says_when_it_could_not_write_everything_in_time() -> None:
    store = FlakyStore()
    store.down = True
    writer = HistoryWriter(store, flush_interval=0.01)
    writer.start()
    writer.submit(_event(1))
    assert not writer.flush(timeout=0.3)
    store.down = False
    assert writer.stop(timeout=5)  # the next retry (after 0.5 s, 1 s...) gets it through
    assert list(store.stored) == ["e1"]
