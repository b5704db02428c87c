"""`SqlHistoryStore`: the `HistoryStore` on SQLite or PostgreSQL through SQLAlchemy Core.

The two backends share every statement; the only dialect-specific piece is the upsert
(`INSERT ... ON CONFLICT`, which both speak, but through their own SQLAlchemy
constructs). An append is one transaction: the events not stored yet, and their
projections, or nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from kasset.history import pruning, queries
from kasset.history.api import (
    Page,
    RunFilter,
    RunRecord,
    SearchResult,
    SeriesPoint,
    StoredEvent,
)
from kasset.history.engine import HEAD, create_history_engine, migrate
from kasset.history.events import HistoryEvent
from kasset.history.projection import RUN_FIELDS, project
from kasset.history.retention import RetentionReport, RetentionRules
from kasset.history.schema import (
    assets,
    events,
    metadata_series,
    run_assets,
    runs,
    series_keys,
)

__all__ = ["SqlHistoryStore", "open_store"]

_ID_CHUNK = 500  # bound parameters per IN (...) lookup


def open_store(url: str, *, migrate_to: str = HEAD) -> SqlHistoryStore:
    """The store at `url` (a SQLite path or URL, or a PostgreSQL URL), its schema
    brought up to date first.

    >>> store = open_store(tmp_path / "history.db")  # doctest: +SKIP
    """
    engine = create_history_engine(str(url))
    migrate(engine, migrate_to)
    return SqlHistoryStore(engine)


class SqlHistoryStore:
    """Implements `kasset.history.api.HistoryStore`; safe to share between threads."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.backend = engine.dialect.name

    def append(self, batch: Sequence[HistoryEvent]) -> int:
        first: dict[str, HistoryEvent] = {}
        for event in batch:
            first.setdefault(event.id, event)
        unique = list(first.values())
        if not unique:
            return 0
        with self.engine.begin() as connection:
            known = self._stored_ids(connection, [event.id for event in unique])
            fresh = [event for event in unique if event.id not in known]
            if not fresh:
                return 0
            rows = project(fresh)
            for statement, table_rows in (
                (self._insert(events).on_conflict_do_nothing(), rows.events),
                (self._upsert_runs(), rows.runs),
                (self._insert(run_assets).on_conflict_do_nothing(), rows.run_assets),
                (self._insert(metadata_series).on_conflict_do_nothing(), rows.series),
                (self._insert(series_keys).on_conflict_do_nothing(), rows.series_keys),
                (self._upsert_assets(), rows.assets),
            ):
                if table_rows:  # executemany: SQLAlchemy batches it, the statement cached
                    connection.execute(statement, table_rows)
        return len(fresh)

    def asset_events(
        self,
        namespace: str,
        graph: str,
        asset: str,
        kinds: Sequence[str],
        *,
        partition: str | None = None,
        name: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[StoredEvent]:
        with self.engine.connect() as connection:
            return queries.asset_events(
                connection, namespace, graph, asset, kinds, partition, name, limit, cursor
            )

    def run_events(
        self, namespace: str, run: str, *, limit: int = 500, cursor: str | None = None
    ) -> Page[StoredEvent]:
        with self.engine.connect() as connection:
            return queries.run_events(connection, namespace, run, limit, cursor)

    def named_events(
        self,
        namespace: str,
        graph: str,
        kind: str,
        name: str,
        *,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[StoredEvent]:
        with self.engine.connect() as connection:
            return queries.named_events(connection, namespace, graph, kind, name, limit, cursor)

    def runs(
        self,
        namespace: str | None,
        filters: RunFilter | None = None,
        *,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[RunRecord]:
        with self.engine.connect() as connection:
            return queries.runs(connection, namespace, filters or RunFilter(), limit, cursor)

    def get_run(self, namespace: str, run: str) -> RunRecord | None:
        with self.engine.connect() as connection:
            return queries.get_run(connection, namespace, run)

    def metadata_series(
        self,
        namespace: str,
        graph: str,
        asset: str,
        key: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
    ) -> list[SeriesPoint]:
        with self.engine.connect() as connection:
            return queries.metadata_series(
                connection, namespace, graph, asset, key, since, until, limit
            )

    def metadata_keys(self, namespace: str, graph: str, asset: str) -> list[str]:
        with self.engine.connect() as connection:
            return queries.metadata_keys(connection, namespace, graph, asset)

    def search(self, namespace: str | None, text: str, *, limit: int = 20) -> SearchResult:
        with self.engine.connect() as connection:
            return queries.search(connection, namespace, text, limit)

    def enforce_retention(self, rules: RetentionRules, now: datetime) -> RetentionReport:
        return pruning.enforce(self.engine, rules, now)

    def close(self) -> None:
        self.engine.dispose()

    def _stored_ids(self, connection: sa.Connection, ids: list[str]) -> set[str]:
        known: set[str] = set()
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = ids[start : start + _ID_CHUNK]
            found = connection.execute(
                sa.select(events.c.event_id).where(events.c.event_id.in_(chunk))
            )
            known.update(found.scalars())
        return known

    def _insert(self, table: sa.Table) -> Any:
        dialect = postgresql if self.backend == "postgresql" else sqlite
        return dialect.insert(table)

    def _upsert_runs(self) -> Any:
        statement = self._insert(runs)
        new, old = statement.excluded, runs.c
        newer = new.updated_ts >= old.updated_ts
        fields = {
            name: sa.case(
                (newer, sa.func.coalesce(new[name], old[name])),
                else_=sa.func.coalesce(old[name], new[name]),
            )
            for name in RUN_FIELDS
        }
        return statement.on_conflict_do_update(
            index_elements=[runs.c.namespace, runs.c.run],
            set_={
                **fields,
                "updated_ts": sa.case((newer, new.updated_ts), else_=old.updated_ts),
                "created_ts": sa.case(
                    (new.created_ts < old.created_ts, new.created_ts), else_=old.created_ts
                ),
            },
        )

    def _upsert_assets(self) -> Any:
        statement = self._insert(assets)
        new, old = statement.excluded, assets.c
        return statement.on_conflict_do_update(
            index_elements=[assets.c.namespace, assets.c.graph, assets.c.asset],
            set_={"last_ts": sa.case((new.last_ts > old.last_ts, new.last_ts), else_=old.last_ts)},
        )
