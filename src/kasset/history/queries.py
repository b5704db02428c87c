"""The store's reads, each one index range scan in the order it returns (see the indexes
in `schema.py`), paged by keyset: `WHERE (ts, seq) < (:ts, :seq)` written as
`ts <= :ts AND (ts < :ts OR seq < :seq)`, which both SQLite and PostgreSQL turn into a
range on the index followed by a cheap filter.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from kasset.errors import HistoryError
from kasset.history.api import (
    MAX_PAGE,
    AssetRef,
    Page,
    RunFilter,
    RunRecord,
    SearchResult,
    SeriesPoint,
    StoredEvent,
    decode_cursor,
    encode_cursor,
)
from kasset.history.events import HistoryEvent
from kasset.history.schema import (
    assets,
    events,
    from_micros,
    run_assets,
    series_keys,
    to_micros,
)
from kasset.history.schema import metadata_series as series_table
from kasset.history.schema import runs as runs_table

__all__ = [
    "SEARCH_SCAN_RUNS",
    "asset_events",
    "get_run",
    "metadata_keys",
    "metadata_series",
    "named_events",
    "run_events",
    "runs",
    "search",
]


SEARCH_SCAN_RUNS = 10_000


def asset_events(
    connection: sa.Connection,
    namespace: str,
    graph: str,
    asset: str,
    kinds: Sequence[str],
    partition: str | None,
    name: str | None,
    limit: int,
    cursor: str | None,
) -> Page[StoredEvent]:
    limit = _limit(limit)
    # One index range per kind, merged: a single `kind IN (...)` would sort them all.
    per_kind = []
    for kind in sorted(set(kinds)):
        query = sa.select(events).where(
            events.c.namespace == namespace,
            events.c.graph == graph,
            events.c.asset == asset,
            events.c.kind == kind,
        )
        if partition is not None:
            query = query.where(events.c.partition == partition)
        if name is not None:
            query = query.where(events.c.name == name)
        per_kind.append(_newest_first(connection, query, limit, cursor))
    merged = list(heapq.merge(*per_kind, key=lambda row: (-row.ts, -row.seq)))
    return _event_page(merged, limit)


def named_events(
    connection: sa.Connection,
    namespace: str,
    graph: str,
    kind: str,
    name: str,
    limit: int,
    cursor: str | None,
) -> Page[StoredEvent]:
    limit = _limit(limit)
    query = sa.select(events).where(
        events.c.namespace == namespace,
        events.c.graph == graph,
        events.c.kind == kind,
        events.c.name == name,
    )
    return _event_page(_newest_first(connection, query, limit, cursor), limit)


def run_events(
    connection: sa.Connection, namespace: str, run: str, limit: int, cursor: str | None
) -> Page[StoredEvent]:
    limit = _limit(limit)
    query = sa.select(events).where(events.c.namespace == namespace, events.c.run == run)
    if cursor is not None:
        ts, seq = _event_cursor(cursor)
        query = query.where(events.c.ts >= ts, sa.or_(events.c.ts > ts, events.c.seq > seq))
    rows = connection.execute(query.order_by(events.c.ts, events.c.seq).limit(limit + 1)).all()
    return _event_page(rows, limit)


def runs(
    connection: sa.Connection,
    namespace: str | None,
    filters: RunFilter,
    limit: int,
    cursor: str | None,
) -> Page[RunRecord]:
    limit = _limit(limit)
    query = sa.select(runs_table)
    if namespace is not None:
        query = query.where(runs_table.c.namespace == namespace)
    if filters.graph is not None:
        query = query.where(runs_table.c.graph == filters.graph)
    if filters.phases:
        query = query.where(runs_table.c.phase.in_(sorted(set(filters.phases))))
    if filters.launched_by is not None:
        query = query.where(runs_table.c.launched_by == filters.launched_by)
    if filters.since is not None:
        query = query.where(runs_table.c.created_ts >= to_micros(filters.since))
    if filters.until is not None:
        query = query.where(runs_table.c.created_ts < to_micros(filters.until))
    if filters.asset is not None:
        query = query.where(
            sa.exists().where(
                run_assets.c.namespace == runs_table.c.namespace,
                run_assets.c.run == runs_table.c.run,
                run_assets.c.asset == filters.asset,
            )
        )
    if cursor is not None:
        raw_ts, run = decode_cursor(cursor, 2)
        ts = _int(raw_ts, cursor)
        query = query.where(
            runs_table.c.created_ts <= ts,
            sa.or_(runs_table.c.created_ts < ts, runs_table.c.run < run),
        )
    rows = connection.execute(
        query.order_by(runs_table.c.created_ts.desc(), runs_table.c.run.desc()).limit(limit + 1)
    ).all()
    records = [_run_record(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(last.created_ts, last.run)
    return Page(records, next_cursor)


def get_run(connection: sa.Connection, namespace: str, run: str) -> RunRecord | None:
    row = connection.execute(
        sa.select(runs_table).where(runs_table.c.namespace == namespace, runs_table.c.run == run)
    ).first()
    if row is None:
        return None
    listed = connection.execute(
        sa.select(run_assets.c.asset)
        .where(run_assets.c.namespace == namespace, run_assets.c.run == run)
        .order_by(run_assets.c.asset)
    ).scalars()
    return _run_record(row, tuple(listed))


def metadata_series(
    connection: sa.Connection,
    namespace: str,
    graph: str,
    asset: str,
    key: str,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> list[SeriesPoint]:
    series = series_table
    query = sa.select(series.c.ts, series.c.value, series.c.run, series.c.partition).where(
        series.c.namespace == namespace,
        series.c.graph == graph,
        series.c.asset == asset,
        series.c.key == key,
    )
    if since is not None:
        query = query.where(series.c.ts >= to_micros(since))
    if until is not None:
        query = query.where(series.c.ts < to_micros(until))
    rows = connection.execute(query.order_by(series.c.ts.desc()).limit(_limit(limit))).all()
    return [
        SeriesPoint(from_micros(row.ts), row.value, row.run, row.partition)
        for row in reversed(rows)
    ]


def metadata_keys(connection: sa.Connection, namespace: str, graph: str, asset: str) -> list[str]:
    keys = series_keys
    found = connection.execute(
        sa.select(keys.c.key)
        .where(keys.c.namespace == namespace, keys.c.graph == graph, keys.c.asset == asset)
        .order_by(keys.c.key)
    )
    return list(found.scalars())


def search(connection: sa.Connection, namespace: str | None, text: str, limit: int) -> SearchResult:
    """Assets whose key contains `text` (the catalog is small: a scan is cheap); runs
    whose name starts with it (an index range over every run; the first `limit` by
    name), or whose name or graph contains it among the newest `SEARCH_SCAN_RUNS` (a
    bounded scan). Runs come newest first."""
    limit = _limit(limit)
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    asset_query = sa.select(assets).where(assets.c.asset.ilike(pattern, escape="\\"))
    if namespace is not None:
        asset_query = asset_query.where(assets.c.namespace == namespace)
    found_assets = connection.execute(
        asset_query.order_by(assets.c.last_ts.desc()).limit(limit)
    ).all()
    prefix = text.lower()  # Kubernetes names are lower case
    by_prefix = sa.select(runs_table).where(
        runs_table.c.run >= prefix, runs_table.c.run < prefix + "\U0010ffff"
    )
    recent = sa.select(runs_table)
    if namespace is not None:
        by_prefix = by_prefix.where(runs_table.c.namespace == namespace)
        recent = recent.where(runs_table.c.namespace == namespace)
    # The filter goes outside the LIMIT, so no planner can scan every run with it.
    newest = recent.order_by(runs_table.c.created_ts.desc()).limit(SEARCH_SCAN_RUNS).subquery()
    by_substring = sa.select(newest).where(
        sa.or_(newest.c.run.ilike(pattern, escape="\\"), newest.c.graph.ilike(pattern, escape="\\"))
    )
    found: dict[tuple[str, str], sa.Row[Any]] = {}
    for ordered in (
        by_prefix.order_by(runs_table.c.run).limit(limit),  # index order: no sort
        by_substring.order_by(newest.c.created_ts.desc()).limit(limit),
    ):
        for row in connection.execute(ordered):
            found.setdefault((row.namespace, row.run), row)
    found_runs = sorted(found.values(), key=lambda row: (-row.created_ts, row.run))[:limit]
    return SearchResult(
        assets=[
            AssetRef(row.namespace, row.graph, row.asset, from_micros(row.last_ts))
            for row in found_assets
        ],
        runs=[_run_record(row) for row in found_runs],
    )


def _newest_first(
    connection: sa.Connection, query: sa.Select[Any], limit: int, cursor: str | None
) -> list[sa.Row[Any]]:
    if cursor is not None:
        ts, seq = _event_cursor(cursor)
        query = query.where(events.c.ts <= ts, sa.or_(events.c.ts < ts, events.c.seq < seq))
    ordered = query.order_by(events.c.ts.desc(), events.c.seq.desc()).limit(limit + 1)
    return list(connection.execute(ordered).all())


def _event_page(rows: Sequence[sa.Row[Any]], limit: int) -> Page[StoredEvent]:
    """The rows come in page order; the cursor is the last row's sort key."""
    items = [StoredEvent(row.seq, _event(row)) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(last.ts, last.seq)
    return Page(items, next_cursor)


def _event(row: sa.Row[Any]) -> HistoryEvent:
    return HistoryEvent(
        id=row.event_id,
        kind=row.kind,
        namespace=row.namespace,
        graph=row.graph,
        timestamp=from_micros(row.ts),
        run=row.run,
        step=row.step,
        asset=row.asset,
        partition=row.partition,
        attempt=row.attempt,
        name=row.name,
        payload=row.payload,
    )


def _run_record(row: sa.Row[Any], listed: tuple[str, ...] = ()) -> RunRecord:
    return RunRecord(
        namespace=row.namespace,
        run=row.run,
        graph=row.graph,
        phase=row.phase,
        created=from_micros(row.created_ts),
        ended=from_micros(row.ended_ts) if row.ended_ts is not None else None,
        launched_by=row.launched_by,
        selection=row.selection,
        partitions=row.partitions,
        message=row.message,
        assets=listed,
    )


def _event_cursor(cursor: str) -> tuple[int, int]:
    ts, seq = decode_cursor(cursor, 2)
    return _int(ts, cursor), _int(seq, cursor)


def _int(text: str, cursor: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise HistoryError(f"malformed page cursor {cursor[:40]!r}") from None


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise HistoryError(f"page size must be 1..{MAX_PAGE}, not {limit}")
    return limit
