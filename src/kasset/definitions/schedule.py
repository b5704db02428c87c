"""`ScheduleDefinition`: materialize a selection on a cron schedule.

A tick of a schedule whose selection is partitioned targets the partition that just
closed (the 02:00 tick of a daily schedule materializes yesterday).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kasset.errors import DefinitionError

__all__ = ["ScheduleDefinition"]

_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?\Z")


@dataclass(frozen=True)
class ScheduleDefinition:
    """`ScheduleDefinition(name="nightly", cron="0 2 * * *", selection="group:raw")`."""

    name: str
    cron: str
    selection: str = "*"
    timezone: str = "UTC"
    description: str | None = None

    def __post_init__(self) -> None:
        where = f"schedule '{self.name}'"
        if not _NAME.match(self.name):
            raise DefinitionError(
                f"{where}: the name must be 1-40 lower-case letters, digits or '-' "
                "(it becomes part of Kubernetes object names)"
            )
        if not self.cron.startswith("@") and len(self.cron.split()) != 5:
            raise DefinitionError(
                f"{where}: cron {self.cron!r} must have 5 fields or be a macro such as @daily"
            )
        from croniter import croniter

        if not croniter.is_valid(self.cron):
            raise DefinitionError(f"{where}: cron {self.cron!r} is not a valid cron expression")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise DefinitionError(f"{where}: unknown time zone {self.timezone!r}") from None

    def ticks(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """Tick times in (after, until], in UTC."""
        from croniter import croniter

        tz = ZoneInfo(self.timezone)
        cursor = croniter(self.cron, after.astimezone(tz))
        while True:
            tick: datetime = cursor.get_next(datetime)
            if tick > until:
                return
            yield tick.astimezone(UTC)

    def next_tick(self, after: datetime) -> datetime:
        from croniter import croniter

        tick: datetime = croniter(self.cron, after.astimezone(ZoneInfo(self.timezone))).get_next(
            datetime
        )
        return tick.astimezone(UTC)

    def spec(self) -> dict[str, str]:
        return {
            "name": self.name,
            "cron": self.cron,
            "timezone": self.timezone,
            "selection": self.selection,
        }
