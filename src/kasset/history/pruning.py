"""Applying `RetentionRules` to a database: runs go whole (their events, series and asset
links with them), events of no run go by age, ticks by count per schedule or sensor.

Deletes in batches of short transactions, so the writer is never held up for long, and
stops after a bounded amount per call (`RetentionReport.more` says to call again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from kasset.history.events import FINISHED_RUN_PHASES, SCHEDULE_TICK, SENSOR_TICK
from kasset.history.retention import RetentionPolicy, RetentionReport, RetentionRules
from kasset.history.schema import events, metadata_series, run_assets, runs, to_micros

__all__ = ["BATCH", "MAX_BATCHES", "enforce"]

BATCH = 500
MAX_BATCHES = 40  # per call: at most 20,000 runs, or 20,000 events per rule


@dataclass(slots=True)
class _Tally:
    """What one call deleted so far, and the batches it may still spend."""

    budget: int
    runs: int = 0
    events: int = 0
    more: bool = False

    def spend(self) -> bool:
        """Takes one batch from the budget; False (and `more`) when it is spent."""
        if self.budget <= 0:
            self.more = True
            return False
        self.budget -= 1
        return True


def enforce(engine: sa.Engine, rules: RetentionRules, now: datetime) -> RetentionReport:
    """Deletes what `rules` no longer keep at `now`."""
    tally = _Tally(budget=MAX_BATCHES)
    with engine.connect() as connection:
        graphs = connection.execute(sa.select(runs.c.namespace, runs.c.graph).distinct()).all()
    for namespace, graph in graphs:
        policy = rules.for_graph(namespace, graph)
        expired = _expired_runs(engine, namespace, graph, policy, now)
        while expired and tally.spend():
            batch, expired = expired[:BATCH], expired[BATCH:]
            tally.events += _delete_runs(engine, namespace, batch)
            tally.runs += len(batch)
    _prune_runless(engine, rules, now, tally)
    return RetentionReport(runs=tally.runs, events=tally.events, more=tally.more)


def _expired_runs(
    engine: sa.Engine,
    namespace: str,
    graph: str,
    policy: RetentionPolicy,
    now: datetime,
) -> list[str]:
    ofgraph = sa.and_(runs.c.namespace == namespace, runs.c.graph == graph)
    expired: set[str] = set()
    with engine.connect() as connection:
        cutoff = policy.cutoff(now)
        if cutoff is not None:
            edge = to_micros(cutoff)
            found = connection.execute(
                sa.select(runs.c.run)
                .where(ofgraph, runs.c.created_ts < edge, runs.c.updated_ts < edge)
                .where(sa.or_(runs.c.ended_ts.is_(None), runs.c.ended_ts < edge))
                .limit(MAX_BATCHES * BATCH + 1)
            )
            expired.update(found.scalars())
        if policy.runs is not None:
            found = connection.execute(
                sa.select(runs.c.run, runs.c.phase)
                .where(ofgraph)
                .order_by(runs.c.created_ts.desc(), runs.c.run.desc())
                .offset(policy.runs)
                .limit(MAX_BATCHES * BATCH + 1)
            )
            expired.update(
                row.run for row in found if row.phase is None or row.phase in FINISHED_RUN_PHASES
            )
    return sorted(expired)


def _delete_runs(engine: sa.Engine, namespace: str, names: list[str]) -> int:
    with engine.begin() as connection:
        deleted = connection.execute(
            sa.delete(events).where(events.c.namespace == namespace, events.c.run.in_(names))
        ).rowcount
        for table in (metadata_series, run_assets, runs):
            connection.execute(
                sa.delete(table).where(table.c.namespace == namespace, table.c.run.in_(names))
            )
    return int(deleted)


def _prune_runless(engine: sa.Engine, rules: RetentionRules, now: datetime, tally: _Tally) -> None:
    overridden = [
        sa.and_(events.c.namespace == namespace, events.c.graph == graph)
        for namespace, graph in rules.graphs
    ]
    scopes: list[tuple[sa.ColumnElement[bool], RetentionPolicy]] = [
        (sa.not_(sa.or_(*overridden)) if overridden else sa.true(), rules.default),
        *(
            (sa.and_(events.c.namespace == ns, events.c.graph == graph), policy)
            for (ns, graph), policy in rules.graphs.items()
        ),
    ]
    for scope, policy in scopes:
        cutoff = policy.cutoff(now)
        if cutoff is not None:
            old = sa.and_(scope, events.c.run.is_(None), events.c.ts < to_micros(cutoff))
            _delete_events(engine, old, tally)
        if policy.runs is not None:
            _prune_ticks(engine, scope, policy.runs, tally)


def _prune_ticks(
    engine: sa.Engine, scope: sa.ColumnElement[bool], keep: int, tally: _Tally
) -> None:
    ticks = sa.and_(scope, events.c.kind.in_([SCHEDULE_TICK, SENSOR_TICK]))
    with engine.connect() as connection:
        names = connection.execute(
            sa.select(events.c.namespace, events.c.graph, events.c.kind, events.c.name)
            .where(ticks)
            .distinct()
        ).all()
    for namespace, graph, kind, name in names:
        one = sa.and_(
            events.c.namespace == namespace,
            events.c.graph == graph,
            events.c.kind == kind,
            events.c.name == name,
        )
        kept = (
            sa.select(events.c.seq)
            .where(one)
            .order_by(events.c.ts.desc(), events.c.seq.desc())
            .limit(keep)
        )
        _delete_events(engine, sa.and_(one, events.c.seq.not_in(kept)), tally)


def _delete_events(engine: sa.Engine, where: sa.ColumnElement[bool], tally: _Tally) -> None:
    while True:
        with engine.begin() as connection:
            chosen = sa.select(events.c.seq, events.c.event_id).where(where).limit(BATCH)
            rows = connection.execute(chosen).all()
            if not rows or not tally.spend():
                return
            ids = [row.event_id for row in rows]
            connection.execute(
                sa.delete(metadata_series).where(metadata_series.c.event_id.in_(ids))
            )
            connection.execute(sa.delete(events).where(events.c.seq.in_([row.seq for row in rows])))
        tally.events += len(rows)
