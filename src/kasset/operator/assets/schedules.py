"""Schedules: each AssetGraph schedule creates a Materialization at every cron tick.

The tick logic is pure (`due_ticks`, `scheduled_run`); `ScheduleLoop` is the thin task
that sleeps until the next tick. A tick's Materialization name is derived from graph,
schedule and tick, so a tick fired twice (restart, second replica) is a harmless 409.
Ticks missed for longer than the missed window (operator down) are skipped and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from kasset import naming
from kasset.definitions.partitions import StaticPartitionsDefinition, TimeWindowPartitionsDefinition
from kasset.definitions.schedule import ScheduleDefinition
from kasset.errors import DefinitionError
from kasset.graph import AssetGraph
from kasset.operator.kube.client import ApiError, Kube
from kasset.operator.model.graphs import GraphSnapshot
from kasset.operator.model.status import iso, parse_time
from kasset.operator.telemetry.sink import MetricsSink
from kasset.resources import materialization_body

__all__ = ["MAX_COUNTED_MISSES", "ScheduleLoop", "TickPlan", "due_ticks", "scheduled_run"]

logger = logging.getLogger(__name__)

MAX_COUNTED_MISSES = 10_000


@dataclass(frozen=True)
class TickPlan:
    fire: list[datetime]
    missed: int
    next_tick: datetime


def due_ticks(
    schedule: ScheduleDefinition, last: datetime, now: datetime, missed_window: float
) -> TickPlan:
    """Ticks in (last, now]: those within `missed_window` seconds of now fire, older ones
    are missed (counted up to MAX_COUNTED_MISSES)."""
    horizon = now - timedelta(seconds=missed_window)
    fire: list[datetime] = []
    missed = 0
    cursor = last
    if last < horizon:
        for tick in schedule.ticks(last, horizon):
            missed += 1
            cursor = tick
            if missed >= MAX_COUNTED_MISSES:
                cursor = horizon
                break
        cursor = max(cursor, horizon - timedelta(microseconds=1)) if missed else cursor
    fire.extend(schedule.ticks(cursor, now))
    fire = [t for t in fire if t > last]
    return TickPlan(fire, missed, schedule.next_tick(now))


def tick_partitions(graph: AssetGraph, selection: str, tick: datetime) -> list[str] | None:
    """For a partitioned selection: the time window that just closed, or every static key."""
    for key in graph.select(selection):
        definition = graph.nodes[key].partitions
        if isinstance(definition, TimeWindowPartitionsDefinition):
            latest = definition.last_closed_key(tick)
            return [latest] if latest else None
        if isinstance(definition, StaticPartitionsDefinition):
            return definition.keys()
    return None


def scheduled_run(
    snapshot: GraphSnapshot, schedule: ScheduleDefinition, tick: datetime
) -> dict[str, Any]:
    """The Materialization a tick creates (pure)."""
    try:
        partitions = tick_partitions(snapshot.graph, schedule.selection, tick)
    except DefinitionError:
        partitions = None  # planning the run reports the bad selection on the run itself
    return materialization_body(
        snapshot.name,
        launched_by=f"schedule:{schedule.name}",
        selection=schedule.selection,
        partitions={"keys": partitions} if partitions else None,
        name=naming.schedule_run_name(snapshot.name, schedule.name, tick),
        namespace=snapshot.namespace,
        labels={
            "kasset.io/graph": naming.label_value(snapshot.name),
            "kasset.io/schedule": naming.label_value(schedule.name),
        },
        annotations={"kasset.io/tick": iso(tick.timestamp()) or ""},
    )


@dataclass
class _State:
    last_tick: datetime
    last_run: str | None = None
    missed: int = 0


@dataclass
class ScheduleLoop:
    """Fires the schedules of every known graph. `graphs()` returns the current ones."""

    kube: Kube
    graphs: Callable[[], list[GraphSnapshot]]
    metrics: MetricsSink
    missed_window: float = 3600.0
    clock: Callable[[], float] = field(default=lambda: datetime.now(UTC).timestamp())
    states: dict[tuple[str, str, str], _State] = field(default_factory=dict)
    seen_status: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def graph_status(self, namespace: str, name: str, schedules: list[dict[str, Any]]) -> None:
        """What the graph's status says (lastTick per schedule), from the watch."""
        self.seen_status[(namespace, name)] = schedules
        self.wake.set()

    async def run_once(self) -> datetime | None:
        """Fires what is due; returns the next tick time of any schedule."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        next_times: list[datetime] = []
        for snapshot in self.graphs():
            rows = []
            changed = False
            for spec in snapshot.spec.schedules:
                try:
                    schedule = ScheduleDefinition(
                        spec.name, spec.cron, spec.selection, spec.timezone
                    )
                except DefinitionError as error:
                    logger.warning(
                        "schedule %s of %s/%s: %s",
                        spec.name,
                        snapshot.namespace,
                        snapshot.name,
                        error,
                    )
                    continue
                state = self._state(snapshot, schedule.name, now)
                plan = due_ticks(schedule, state.last_tick, now, self.missed_window)
                if plan.missed:
                    state.missed += plan.missed
                    self.metrics.missed_ticks(snapshot.name, schedule.name, plan.missed)
                    changed = True
                for tick in plan.fire:
                    body = scheduled_run(snapshot, schedule, tick)
                    try:
                        await self.kube.create_object("materializations", snapshot.namespace, body)
                    except ApiError as error:
                        logger.warning(
                            "schedule %s: cannot create %s: %s",
                            schedule.name,
                            body["metadata"]["name"],
                            error,
                        )
                        break
                    state.last_tick, state.last_run = tick, body["metadata"]["name"]
                    changed = True
                if plan.fire or plan.missed:
                    state.last_tick = max(state.last_tick, plan.fire[-1] if plan.fire else now)
                next_times.append(plan.next_tick)
                rows.append(
                    {
                        "name": schedule.name,
                        "lastTick": iso(state.last_tick.timestamp()),
                        "lastRun": state.last_run,
                        "nextTick": iso(plan.next_tick.timestamp()),
                        "missedTicks": state.missed,
                    }
                )
            if changed and rows:
                await self._write(snapshot, rows)
        return min(next_times, default=None)

    def _state(self, snapshot: GraphSnapshot, name: str, now: datetime) -> _State:
        key = (snapshot.namespace, snapshot.name, name)
        state = self.states.get(key)
        if state is None:
            rows = self.seen_status.get((snapshot.namespace, snapshot.name)) or []
            row = next((r for r in rows if r.get("name") == name), {})
            last = parse_time(row.get("lastTick"))
            state = _State(
                last_tick=datetime.fromtimestamp(last, UTC) if last else now,
                last_run=row.get("lastRun"),
                missed=int(row.get("missedTicks") or 0),
            )
            self.states[key] = state
        return state

    async def _write(self, snapshot: GraphSnapshot, rows: list[dict[str, Any]]) -> None:
        clean = [{k: v for k, v in row.items() if v is not None} for row in rows]
        try:
            await self.kube.patch_status(
                "assetgraphs", snapshot.namespace, snapshot.name, {"schedules": clean}
            )
        except ApiError as error:
            logger.warning(
                "cannot write schedules of %s/%s: %s", snapshot.namespace, snapshot.name, error
            )

    async def run(self) -> None:
        """Forever: fire due ticks, sleep until the next one or until graphs change."""
        while True:
            self.wake.clear()
            try:
                upcoming = await self.run_once()
            except Exception:
                logger.exception("schedule loop failed; retrying in 30s")
                upcoming = datetime.fromtimestamp(self.clock() + 30, UTC)
            delay = None if upcoming is None else max(0.0, upcoming.timestamp() - self.clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), None if delay is None else delay + 0.01)
