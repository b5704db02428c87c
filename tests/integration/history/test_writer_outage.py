"""The batched writer against the real databases: everything submitted arrives once, and
a PostgreSQL server killed in the middle of a stream of writes loses nothing: the
writer buffers while it is down and catches up when it is back."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa
from history_builders import materialization

from kasset.history import MATERIALIZED
from kasset.history.schema import events
from kasset.history.store import SqlHistoryStore, open_store
from kasset.history.writer import HistoryWriter
from postgres import PostgresServer


def _stored_ids(store: SqlHistoryStore) -> list[str]:
    with store.engine.connect() as connection:
        return list(connection.execute(sa.select(events.c.event_id)).scalars())


def test_every_submitted_event_is_stored_exactly_once(store: SqlHistoryStore) -> None:
    writer = HistoryWriter(store, batch_size=200, flush_interval=0.01)
    writer.start()
    submitted = [materialization(n) for n in range(3000)]
    for event in submitted:
        assert writer.submit(event)
    for event in submitted[:100]:  # a reporter's retries: the same ids again
        writer.submit(event)
    assert writer.stop(timeout=60)
    ids = _stored_ids(store)
    assert sorted(ids) == sorted(event.id for event in submitted)
    assert (writer.stats.written, writer.stats.duplicates) == (3000, 100)


def test_a_postgresql_server_killed_mid_stream_loses_no_accepted_event(
    postgres_server: PostgresServer,
) -> None:
    store = open_store(postgres_server.create_database("outage"))
    writer = HistoryWriter(store, batch_size=50, flush_interval=0.01)
    writer.start()
    total = 4000
    submitted: list[str] = []
    half_written = threading.Event()

    def produce() -> None:
        for n in range(total):
            event = materialization(n, asset=f"asset-{n % 7}")
            assert writer.submit(event)
            submitted.append(event.id)
            if n == total // 4:
                half_written.set()
            time.sleep(0.0005)  # a steady stream, longer than the outage

    producer = threading.Thread(target=produce)
    producer.start()
    assert half_written.wait(30)
    written_before = writer.stats.written
    postgres_server.kill()
    time.sleep(2.0)  # the stream goes on while the server is gone
    failures_while_down = writer.stats.failures
    postgres_server.start()
    producer.join(60)
    assert writer.stop(timeout=120), f"still pending: {writer.pending}"

    assert 0 < written_before < total
    assert failures_while_down > 0  # the outage was real: writes failed meanwhile
    assert sorted(_stored_ids(store)) == sorted(submitted)
    assert len(submitted) == total
    assert writer.stats.written == total
    assert sum(writer.stats.dropped.values()) == 0
    page = store.asset_events("data", "shop", "asset-3", [MATERIALIZED], limit=1000)
    assert len(page.items) == len(range(3, total, 7))
    store.close()
