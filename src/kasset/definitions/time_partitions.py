"""Time-window partitions as Dagster defines them: a cron in a time zone cuts time into
windows, each keyed by its start formatted with `fmt`.

`DailyPartitionsDefinition(start_date="2024-01-01")` is the cron `0 0 * * *`; the offsets
move the tick (`hour_offset=6`: windows from 06:00 to 06:00, still keyed by their start
day); `end_offset=1` adds the window still in progress. Windows follow the local wall
clock, so a day of a DST change is one 23- or 25-hour window; an hour repeated by a
fall-back is two windows, the second keyed with its UTC offset (`2024-11-03-01:00-0500`),
as Dagster keys it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kasset.definitions.partitions_base import PartitionsDefinition
from kasset.definitions.time_cadence import Cadence, cadence_for
from kasset.errors import PartitionError

__all__ = [
    "DailyPartitionsDefinition",
    "HourlyPartitionsDefinition",
    "MonthlyPartitionsDefinition",
    "TimeWindow",
    "TimeWindowPartitionsDefinition",
    "WeeklyPartitionsDefinition",
    "time_partitions_from_spec",
]

DEFAULT_DATE_FORMAT = "%Y-%m-%d"
DEFAULT_HOURLY_FORMAT = "%Y-%m-%d-%H:%M"


class TimeWindow(NamedTuple):
    """A span of time, start included, end excluded (aware datetimes)."""

    start: datetime
    end: datetime


class TimeWindowPartitionsDefinition(PartitionsDefinition):
    """Windows between the ticks of `cron_schedule` in `timezone`, from `start`.

    `end` is exclusive (no window starts at or after it); unset, the windows that have
    ended by now exist, plus `end_offset` more (negative: fewer).
    """

    kind = "time"

    def __init__(
        self,
        start: str | date | datetime,
        fmt: str,
        end: str | date | datetime | None = None,
        timezone: str | None = None,
        end_offset: int = 0,
        cron_schedule: str | None = None,
    ) -> None:
        if cron_schedule is None:
            raise PartitionError("TimeWindowPartitionsDefinition needs a cron_schedule")
        name = timezone or "UTC"
        try:
            self.tz = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise PartitionError(f"unknown time zone {name!r}") from None
        if not isinstance(end_offset, int):
            raise PartitionError(f"end_offset must be an integer, got {end_offset!r}")
        self.timezone, self.fmt, self.cron_schedule = name, fmt, cron_schedule
        self.end_offset = end_offset
        given_start = self._coerce(start, "start")
        self._cadence: Cadence = cadence_for(cron_schedule, self.tz, given_start)
        self.start = self._cadence.origin
        self.end = self._coerce(end, "end") if end is not None else None
        if self.end is not None and self.end <= self.start:
            raise PartitionError(
                f"partitions end {self.end.strftime(fmt)} is not after start "
                f"{self.start.strftime(fmt)}"
            )

    # Parsing and formatting keys.

    def _coerce(self, value: str | date | datetime, what: str) -> datetime:
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=self.tz)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=self.tz)
        if not isinstance(value, str):
            raise PartitionError(f"{what} must be a date, a datetime or a string, got {value!r}")
        try:
            return self._parse(value, what)
        except PartitionError:
            try:  # kasset's older spelling: a plain date for any kind
                return datetime.strptime(value, DEFAULT_DATE_FORMAT).replace(tzinfo=self.tz)
            except ValueError:
                raise PartitionError(
                    f"invalid {what} {value!r}: expected the format {self.fmt}"
                ) from None

    def _parse(self, text: str, what: str) -> datetime:
        for fmt in (self.fmt, self.fmt + "%z"):
            try:
                moment = datetime.strptime(text, fmt)
            except ValueError:
                continue
            return moment.astimezone(self.tz) if moment.tzinfo else moment.replace(tzinfo=self.tz)
        raise PartitionError(f"invalid {what} {text!r}: expected the format {self.fmt}")

    def _format(self, moment: datetime) -> str:
        local = moment.astimezone(self.tz)
        text = local.strftime(self.fmt)
        if "%z" not in self.fmt and local.fold == 1 and _is_repeated(local):
            text += local.strftime("%z")  # the second of two windows with the same wall time
        return text

    # The ordered keys.

    def _limit(self, now: datetime | None) -> int:
        """How many windows exist: those ended by `now` (plus end_offset), up to `end`."""
        current = now or datetime.now(UTC)
        count = self._cadence.ticks_at_or_before(current) - 1 + self.end_offset
        if self.end is not None:
            count = min(count, self._end_count())
        return max(0, count)

    def _end_count(self) -> int:
        """Windows that end by `end` (a window running past it is not a partition)."""
        assert self.end is not None
        cached: int | None = getattr(self, "_end_count_cached", None)
        if cached is None:
            cached = max(0, self._cadence.ticks_at_or_before(self.end) - 1)
            self._end_count_cached = cached
        return cached

    def count(self, now: datetime | None = None) -> int:
        return self._limit(now)

    def keys(self, now: datetime | None = None) -> list[str]:
        return [self.key_at(i) for i in range(self._limit(now))]

    def key_at(self, index: int) -> str:
        if index < 0:
            raise PartitionError("no partition before the first one")
        return self._format(self._cadence.tick(index))

    def index_of(self, key: str) -> int:
        if not isinstance(key, str):
            raise PartitionError(f"invalid partition key {key!r}: expected a string")
        moment = self._parse(key, "partition key")
        index = self._cadence.first_at_or_after(moment)
        if index < 0 or (self.end is not None and index >= self._end_count()):
            raise PartitionError(
                f"partition key {key!r} is outside the partitions {self._describe()}"
            )
        if self.key_at(index) != key:  # not a window start, or a key formatted differently
            raise PartitionError(
                f"invalid partition key {key!r}: not the start of a window of {self._describe()}"
            )
        return index

    def last_closed_key(self, now: datetime) -> str | None:
        """The newest window that has ended by `now`: what a schedule tick targets."""
        count = max(0, self._cadence.ticks_at_or_before(now) - 1)
        if self.end is not None:
            count = min(count, self._end_count())
        return self.key_at(count - 1) if count else None

    # Windows.

    def window_at(self, index: int) -> TimeWindow:
        return TimeWindow(self._cadence.tick(index), self._cadence.tick(index + 1))

    def time_window(self, key: str) -> TimeWindow:
        """The window of a partition key."""
        return self.window_at(self.index_of(key))

    def time_window_for_partition_key(self, partition_key: str) -> TimeWindow:
        return self.time_window(partition_key)

    def indexes_overlapping(self, window: TimeWindow) -> range:
        """Positions of the windows that overlap `window` (may reach outside the keys)."""
        first = self._cadence.first_at_or_after(window.start)
        if first > 0 and self._cadence.tick(first).astimezone(UTC) > window.start.astimezone(UTC):
            first -= 1  # the window containing window.start
        stop = self._cadence.first_at_or_after(window.end)
        return range(first, max(first, stop))

    def indexes_within(self, window: TimeWindow) -> range:
        """Positions of the windows that lie wholly inside `window`."""
        first = self._cadence.first_at_or_after(window.start)
        stop = self._cadence.ticks_at_or_before(window.end) - 1
        return range(first, max(first, stop))

    def get_partition_key_for_timestamp(self, timestamp: float) -> str:
        moment = datetime.fromtimestamp(timestamp, UTC)
        return self.key_at(self.indexes_overlapping(TimeWindow(moment, moment)).start)

    def spec(self) -> dict[str, Any]:
        """The JSON form: start and end as local `YYYY-MM-DD[-HH:MM]` whatever `fmt` is;
        cron and fmt only where they differ from the kind's defaults."""
        cron, fmt = _DEFAULTS.get(self.kind, ("", ""))
        return {
            "type": self.kind,
            "start": self._spec_text(self.start),
            "end": self._spec_text(self.end) if self.end else None,
            "timezone": self.timezone,
            "fmt": self.fmt if self.fmt != fmt else None,
            "cron": self.cron_schedule if self.cron_schedule != cron else None,
            "endOffset": self.end_offset or None,
        }

    def _spec_text(self, moment: datetime) -> str:
        local = moment.astimezone(self.tz)
        if self.kind != "hourly" and (local.hour, local.minute) == (0, 0):
            return local.strftime(DEFAULT_DATE_FORMAT)
        return local.strftime(DEFAULT_HOURLY_FORMAT)

    def _describe(self) -> str:
        end = self._format(self.end) if self.end else "now"
        return f"{self.kind} from {self._format(self.start)} to {end} ({self.timezone})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._describe()})"


def _is_repeated(local: datetime) -> bool:
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def _start_of(start_date: Any, start: Any, what: str) -> Any:
    if start_date is not None and start is not None and start_date != start:
        raise PartitionError(f"{what}: give start_date or start, not both")
    value = start_date if start_date is not None else start
    if value is None:
        raise PartitionError(f"{what} needs start_date")
    return value


class DailyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition a day, keyed `YYYY-MM-DD`:
    `DailyPartitionsDefinition(start_date="2024-01-01", hour_offset=6, timezone="Europe/Paris")`.
    """

    kind = "daily"

    def __init__(
        self,
        start_date: str | date | datetime | None = None,
        end_date: str | date | datetime | None = None,
        minute_offset: int = 0,
        hour_offset: int = 0,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
        *,
        start: str | date | datetime | None = None,
        end: str | date | datetime | None = None,
    ) -> None:
        _check_offsets(minute_offset, hour_offset)
        super().__init__(
            _start_of(start_date, start, "DailyPartitionsDefinition"),
            fmt or DEFAULT_DATE_FORMAT,
            end_date if end_date is not None else end,
            timezone,
            end_offset,
            f"{minute_offset} {hour_offset} * * *",
        )
        self.minute_offset, self.hour_offset = minute_offset, hour_offset


class HourlyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition an hour, keyed `YYYY-MM-DD-HH:MM`."""

    kind = "hourly"

    def __init__(
        self,
        start_date: str | date | datetime | None = None,
        end_date: str | date | datetime | None = None,
        minute_offset: int = 0,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
        *,
        start: str | date | datetime | None = None,
        end: str | date | datetime | None = None,
    ) -> None:
        _check_offsets(minute_offset, 0)
        super().__init__(
            _start_of(start_date, start, "HourlyPartitionsDefinition"),
            fmt or DEFAULT_HOURLY_FORMAT,
            end_date if end_date is not None else end,
            timezone,
            end_offset,
            f"{minute_offset} * * * *",
        )
        self.minute_offset = minute_offset


class WeeklyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition a week from weekday `day_offset` (0 = Sunday), keyed by its first day."""

    kind = "weekly"

    def __init__(
        self,
        start_date: str | date | datetime | None = None,
        end_date: str | date | datetime | None = None,
        minute_offset: int = 0,
        hour_offset: int = 0,
        day_offset: int = 0,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
        *,
        start: str | date | datetime | None = None,
        end: str | date | datetime | None = None,
    ) -> None:
        _check_offsets(minute_offset, hour_offset)
        if not isinstance(day_offset, int) or not 0 <= day_offset <= 6:
            raise PartitionError(f"day_offset must be 0 (Sunday) to 6, got {day_offset!r}")
        super().__init__(
            _start_of(start_date, start, "WeeklyPartitionsDefinition"),
            fmt or DEFAULT_DATE_FORMAT,
            end_date if end_date is not None else end,
            timezone,
            end_offset,
            f"{minute_offset} {hour_offset} * * {day_offset}",
        )
        self.minute_offset, self.hour_offset, self.day_offset = (
            minute_offset,
            hour_offset,
            day_offset,
        )


class MonthlyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition a month from day `day_offset` (1-28), keyed by its first day."""

    kind = "monthly"

    def __init__(
        self,
        start_date: str | date | datetime | None = None,
        end_date: str | date | datetime | None = None,
        minute_offset: int = 0,
        hour_offset: int = 0,
        day_offset: int = 1,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
        *,
        start: str | date | datetime | None = None,
        end: str | date | datetime | None = None,
    ) -> None:
        _check_offsets(minute_offset, hour_offset)
        if not isinstance(day_offset, int) or not 1 <= day_offset <= 28:
            raise PartitionError(f"day_offset must be 1 to 28, got {day_offset!r}")
        super().__init__(
            _start_of(start_date, start, "MonthlyPartitionsDefinition"),
            fmt or DEFAULT_DATE_FORMAT,
            end_date if end_date is not None else end,
            timezone,
            end_offset,
            f"{minute_offset} {hour_offset} {day_offset} * *",
        )
        self.minute_offset, self.hour_offset, self.day_offset = (
            minute_offset,
            hour_offset,
            day_offset,
        )


def _check_offsets(minute_offset: int, hour_offset: int) -> None:
    if not isinstance(minute_offset, int) or not 0 <= minute_offset <= 59:
        raise PartitionError(f"minute_offset must be 0 to 59, got {minute_offset!r}")
    if not isinstance(hour_offset, int) or not 0 <= hour_offset <= 23:
        raise PartitionError(f"hour_offset must be 0 to 23, got {hour_offset!r}")


_DEFAULTS: dict[str, tuple[str, str]] = {
    "daily": ("0 0 * * *", DEFAULT_DATE_FORMAT),
    "hourly": ("0 * * * *", DEFAULT_HOURLY_FORMAT),
    "weekly": ("0 0 * * 0", DEFAULT_DATE_FORMAT),
    "monthly": ("0 0 1 * *", DEFAULT_DATE_FORMAT),
}
TIME_KINDS = ("time", *_DEFAULTS)


def time_partitions_from_spec(spec: dict[str, Any]) -> TimeWindowPartitionsDefinition:
    """Rebuilds a time-window definition from `spec()` (also the older form without cron)."""
    kind = spec["type"]
    if not spec.get("start"):
        raise PartitionError(f"{kind} partitions need start")
    cron, fmt = _DEFAULTS.get(kind, ("", DEFAULT_DATE_FORMAT))
    definition = TimeWindowPartitionsDefinition(
        _spec_time(spec["start"]),
        spec.get("fmt") or fmt,
        _spec_time(spec["end"]) if spec.get("end") else None,
        spec.get("timezone") or "UTC",
        int(spec.get("endOffset") or 0),
        spec.get("cron") or cron or None,
    )
    definition.kind = kind
    return definition


def _spec_time(text: str) -> datetime:
    for fmt in (DEFAULT_HOURLY_FORMAT, "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", DEFAULT_DATE_FORMAT):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise PartitionError(f"invalid partitions time {text!r}: expected YYYY-MM-DD[-HH:MM]")
