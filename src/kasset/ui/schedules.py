"""The schedules page's model: each schedule of each graph with its last and next ticks.

Next ticks are computed here from the cron (the operator only records the next one), so
the page shows the coming few even before the operator has seen the graph.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel

from kasset.definitions.schedule import ScheduleDefinition
from kasset.errors import DefinitionError
from kasset.resources import AssetGraphResource

__all__ = ["ScheduleView", "next_ticks", "schedule_views"]

# The AssetGraph schema accepts cron macros; ScheduleDefinition wants five fields.
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class ScheduleView(BaseModel):
    """One schedule as the UI shows it."""

    namespace: str
    graph: str
    name: str
    cron: str
    timezone: str
    selection: str
    next_ticks: list[datetime]
    last_tick: datetime | None = None
    last_run: str | None = None
    missed_ticks: int = 0
    error: str | None = None


def next_ticks(cron: str, timezone: str, after: datetime, count: int = 3) -> list[datetime]:
    """The next `count` ticks of a cron after `after`, in UTC.

    >>> from datetime import UTC
    >>> next_ticks("0 2 * * *", "UTC", datetime(2024, 1, 1, tzinfo=UTC), 1)
    [datetime.datetime(2024, 1, 1, 2, 0, tzinfo=datetime.timezone.utc)]
    """
    # Only the cron and the time zone matter here; the resource's schedule name may not
    # fit ScheduleDefinition's stricter name rule, so a placeholder stands in.
    expanded = _MACROS.get(cron.strip(), cron)
    definition = ScheduleDefinition(name="tick", cron=expanded, timezone=timezone)
    ticks: list[datetime] = []
    cursor = after
    for _ in range(count):
        cursor = definition.next_tick(cursor)
        ticks.append(cursor)
    return ticks


def schedule_views(graphs: Iterable[AssetGraphResource], now: datetime) -> list[ScheduleView]:
    """Every schedule of `graphs`, sorted by next tick."""
    views: list[ScheduleView] = []
    for graph in graphs:
        statuses = {s.name: s for s in (graph.status.schedules if graph.status else [])}
        for schedule in graph.spec.schedules:
            status = statuses.get(schedule.name)
            error = None
            try:
                ticks = next_ticks(schedule.cron, schedule.timezone, now)
            except DefinitionError as problem:
                ticks, error = [], str(problem)
            views.append(
                ScheduleView(
                    namespace=graph.metadata.namespace or "default",
                    graph=graph.metadata.name or "",
                    name=schedule.name,
                    cron=schedule.cron,
                    timezone=schedule.timezone,
                    selection=schedule.selection,
                    next_ticks=ticks,
                    last_tick=status.last_tick if status else None,
                    last_run=status.last_run if status else None,
                    missed_ticks=status.missed_ticks if status else 0,
                    error=error,
                )
            )
    far = datetime.max.replace(tzinfo=now.tzinfo)
    views.sort(key=lambda v: (v.next_ticks[0] if v.next_ticks else far, v.graph, v.name))
    return views
