"""Where the ticks of a partitions cron fall, in O(1) for the cadences Dagster's daily,
hourly, weekly and monthly definitions use, and by iteration for any other cron.

A cadence numbers the ticks from a first one: `tick(i)` is the i-th tick (aware, local
time) and `first_at_or_after(moment)` the number of the first tick at or after `moment`.
Time windows are the spans between consecutive ticks, so both directions are all the
partition definitions need, also for a million partitions.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from kasset.errors import PartitionError

__all__ = ["Cadence", "cadence_for"]

_HOUR = timedelta(hours=1)
_FIELD = r"(\d{1,2})"


class Cadence(ABC):
    """The ticks of one cron in one time zone, numbered from the first at or after a start."""

    def __init__(self, tz: ZoneInfo, start: datetime) -> None:
        self.tz = tz
        self.origin = self._first_tick_at_or_after(start)

    @abstractmethod
    def _first_tick_at_or_after(self, moment: datetime) -> datetime: ...

    @abstractmethod
    def tick(self, index: int) -> datetime:
        """The tick numbered `index` (may be negative: before the origin)."""

    @abstractmethod
    def first_at_or_after(self, moment: datetime) -> int:
        """The number of the first tick at or after `moment`."""

    def ticks_at_or_before(self, moment: datetime) -> int:
        """How many ticks from the origin (included) fall at or before `moment`."""
        index = self.first_at_or_after(moment)
        if _same_instant(self.tick(index), moment):
            index += 1
        return max(0, index)

    def _settle(self, guess: int, moment: datetime) -> int:
        """From a calendar estimate to the exact first tick at or after `moment`."""
        index = guess
        while self.tick(index).astimezone(UTC) < moment.astimezone(UTC):
            index += 1
        while self.tick(index - 1).astimezone(UTC) >= moment.astimezone(UTC):
            index -= 1
        return index

    def _local(self, day: date, hour: int, minute: int) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.tz)


def _same_instant(a: datetime, b: datetime) -> bool:
    return a.astimezone(UTC) == b.astimezone(UTC)


class HourlyCadence(Cadence):
    """`M * * * *`: every real hour at minute M (zones change offsets by whole hours)."""

    def __init__(self, tz: ZoneInfo, start: datetime, minute: int) -> None:
        self.minute = minute
        super().__init__(tz, start)

    def _first_tick_at_or_after(self, moment: datetime) -> datetime:
        local = moment.astimezone(self.tz)
        candidate = local.replace(minute=self.minute, second=0, microsecond=0)
        utc = candidate.astimezone(UTC)
        if utc < moment.astimezone(UTC):
            utc += _HOUR
        return utc.astimezone(self.tz)

    def tick(self, index: int) -> datetime:
        return (self.origin.astimezone(UTC) + _HOUR * index).astimezone(self.tz)

    def first_at_or_after(self, moment: datetime) -> int:
        elapsed = moment.astimezone(UTC) - self.origin.astimezone(UTC)
        whole, rest = divmod(elapsed, _HOUR)
        return int(whole) + (1 if rest else 0)


class DailyCadence(Cadence):
    """`M H * * *` (every day) or `M H * * D` (every week on weekday D, 0 = Sunday): local
    wall-clock times, so a 23- or 25-hour day is still one window."""

    def __init__(
        self, tz: ZoneInfo, start: datetime, hour: int, minute: int, weekday: int | None
    ) -> None:
        self.hour, self.minute, self.weekday = hour, minute, weekday
        self.days = 1 if weekday is None else 7
        super().__init__(tz, start)

    def _first_tick_at_or_after(self, moment: datetime) -> datetime:
        day = moment.astimezone(self.tz).date()
        if self.weekday is not None:
            day -= timedelta(days=(day.isoweekday() % 7 - self.weekday) % 7)
        while True:
            candidate = self._local(day, self.hour, self.minute)
            if candidate.astimezone(UTC) >= moment.astimezone(UTC):
                return candidate
            day += timedelta(days=self.days)

    def tick(self, index: int) -> datetime:
        day = self.origin.date() + timedelta(days=self.days * index)
        return self._local(day, self.hour, self.minute)

    def first_at_or_after(self, moment: datetime) -> int:
        days = (moment.astimezone(self.tz).date() - self.origin.date()).days
        index = days // self.days
        return self._settle(index, moment)


class MonthlyCadence(Cadence):
    """`M H D * *`: day D of every month (1-28, as Dagster allows)."""

    def __init__(self, tz: ZoneInfo, start: datetime, day: int, hour: int, minute: int) -> None:
        self.day, self.hour, self.minute = day, hour, minute
        super().__init__(tz, start)

    def _month(self, year: int, month: int) -> datetime:
        return self._local(date(year, month, self.day), self.hour, self.minute)

    def _first_tick_at_or_after(self, moment: datetime) -> datetime:
        local = moment.astimezone(self.tz)
        year, month = local.year, local.month
        while True:
            candidate = self._month(year, month)
            if candidate.astimezone(UTC) >= moment.astimezone(UTC):
                return candidate
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    def tick(self, index: int) -> datetime:
        months = self.origin.year * 12 + self.origin.month - 1 + index
        return self._month(months // 12, months % 12 + 1)

    def first_at_or_after(self, moment: datetime) -> int:
        local = moment.astimezone(self.tz)
        index = (local.year - self.origin.year) * 12 + local.month - self.origin.month
        return self._settle(index, moment)


class CronCadence(Cadence):
    """Any other cron, by iterating croniter (ticks are cached as they are found)."""

    def __init__(self, tz: ZoneInfo, start: datetime, cron: str) -> None:
        from croniter import croniter

        if not croniter.is_valid(cron):
            raise PartitionError(f"invalid cron_schedule {cron!r}")
        self.cron = cron
        self._ticks: list[datetime] = []
        super().__init__(tz, start)

    def _first_tick_at_or_after(self, moment: datetime) -> datetime:
        from croniter import croniter

        cursor = croniter(self.cron, moment.astimezone(self.tz) - timedelta(seconds=1))
        first: datetime = cursor.get_next(datetime)
        self._cursor = cursor
        self._ticks = [first]
        return first

    def tick(self, index: int) -> datetime:
        if index < 0:
            raise PartitionError("no partition before the first one")
        while len(self._ticks) <= index:
            self._ticks.append(self._cursor.get_next(datetime))
        return self._ticks[index]

    def first_at_or_after(self, moment: datetime) -> int:
        target = moment.astimezone(UTC)
        if target <= self.origin.astimezone(UTC):
            return 0
        index = 0
        while self.tick(index).astimezone(UTC) < target:
            index += 1
        return index


def cadence_for(cron: str, tz: ZoneInfo, start: datetime) -> Cadence:
    """The fastest cadence that yields exactly the ticks of `cron` in `tz`."""
    fields = cron.split()
    if len(fields) == 5 and re.fullmatch(_FIELD, fields[0]):
        minute = int(fields[0])
        rest = fields[1:]
        if rest == ["*", "*", "*", "*"] and minute < 60:
            return HourlyCadence(tz, start, minute)
        if re.fullmatch(_FIELD, rest[0]) and int(rest[0]) < 24 and rest[2] == "*":
            hour = int(rest[0])
            if rest[1] == "*" and rest[3] == "*":
                return DailyCadence(tz, start, hour, minute, None)
            if rest[1] == "*" and re.fullmatch(r"[0-6]", rest[3]):
                return DailyCadence(tz, start, hour, minute, int(rest[3]))
            if re.fullmatch(_FIELD, rest[1]) and 1 <= int(rest[1]) <= 28 and rest[3] == "*":
                return MonthlyCadence(tz, start, int(rest[1]), hour, minute)
    return CronCadence(tz, start, cron)
