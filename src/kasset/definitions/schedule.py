"""`ScheduleDefinition`: materialize a selection on a cron schedule.

A tick of a schedule whose selection is partitioned targets the partition that just
closed (the 02:00 tick of a daily schedule materializes yesterday).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kasset.errors import DefinitionError

__all__ = ["ScheduleDefinition"]

_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?\Z")


@dataclass(frozen=True, init=False)
class ScheduleDefinition:
    """`ScheduleDefinition(name="nightly", cron="0 2 * * *", selection="group:raw")`, or
    Dagster's `ScheduleDefinition(job=nightly_job, cron_schedule="0 2 * * *",
    execution_timezone="Europe/Berlin")`. A Dagster-style name such as `nightly_job_schedule`
    is kept with `-` for `_` (it becomes part of Kubernetes object names)."""

    name: str
    cron: str
    selection: str = "*"
    timezone: str = "UTC"
    description: str | None = None
    job: Any = field(default=None, compare=False)
    job_name: str | None = None
    run_config: Any = field(default=None, compare=False)
    tags: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __init__(
        self,
        name: str | None = None,
        cron: str | None = None,
        selection: str = "*",
        timezone: str | None = None,
        description: str | None = None,
        *,
        cron_schedule: str | None = None,
        execution_timezone: str | None = None,
        job: Any = None,
        job_name: str | None = None,
        run_config: Any = None,
        tags: Mapping[str, str] | None = None,
        default_status: Any = None,
    ) -> None:
        chosen = name or (f"{job.name}_schedule" if job is not None else None)
        if chosen is None:
            raise DefinitionError("ScheduleDefinition needs a name (or a job to name it after)")
        cron_text = cron or cron_schedule
        if cron_text is None:
            raise DefinitionError(f"schedule '{chosen}': give cron (or cron_schedule)")
        values = {
            "name": chosen.replace("_", "-"),
            "cron": cron_text,
            "selection": selection,
            "timezone": timezone or execution_timezone or "UTC",
            "description": description,
            "job": job,
            "job_name": job.name if job is not None else job_name,
            "run_config": run_config,
            "tags": dict(tags or {}),
        }
        for key, value in values.items():
            object.__setattr__(self, key, value)
        self.__post_init__()

    def for_job(self, selection: str) -> ScheduleDefinition:
        """This schedule with its job's resolved selection."""
        copy = dataclasses.replace(self)
        object.__setattr__(copy, "selection", selection)
        return copy

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

    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "name": self.name,
            "cron": self.cron,
            "timezone": self.timezone,
            "selection": self.selection,
        }
        if self.job_name:
            spec["job"] = self.job_name
        return spec
