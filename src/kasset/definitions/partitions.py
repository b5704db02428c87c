"""Partitions: how one asset splits into independently materialized slices.

Static partitions are a fixed list of keys; daily and hourly partitions are time windows
from a start (and optional end) in a time zone. Every definition orders its keys, which is
what makes the compact range strings (`2024-01-01..2024-01-31,2024-02-03`) possible.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kasset.errors import PartitionError

__all__ = [
    "TEMP_NAME_MARK",
    "UNPARTITIONED_NAME",
    "DailyPartitionsDefinition",
    "HourlyPartitionsDefinition",
    "PartitionsDefinition",
    "StaticPartitionsDefinition",
    "TimeWindowPartitionsDefinition",
    "partitions_from_spec",
]

#: Names the filesystem IO manager gives its own files: the value of an unpartitioned
#: asset, and the temporary file a value is written to before it moves into place. A
#: partition key named so would be stored but never found again.
UNPARTITIONED_NAME = "__all__"
TEMP_NAME_MARK = ".tmp-"
_STATIC_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:+-]{0,62}\Z")
RANGE_SEPARATOR = ".."


class PartitionsDefinition(ABC):
    """An ordered set of partition keys."""

    kind: str

    @abstractmethod
    def keys(self, now: datetime | None = None) -> list[str]:
        """Every key that exists at `now` (time windows: the windows that have closed)."""

    @abstractmethod
    def index_of(self, key: str) -> int:
        """The position of `key` in the definition's order; PartitionError if not a key."""

    @abstractmethod
    def key_at(self, index: int) -> str:
        """The key at a position (the inverse of `index_of`)."""

    @abstractmethod
    def spec(self) -> dict[str, Any]:
        """The JSON form stored in the AssetGraph resource."""

    def validate_key(self, key: str) -> str:
        self.index_of(key)
        return key

    def key_range(self, first: str, last: str) -> list[str]:
        """Keys from `first` to `last`, both included, in order."""
        start, end = self.index_of(first), self.index_of(last)
        if start > end:
            raise PartitionError(
                f"partition range {first}..{last} is empty: {first} comes after {last}"
            )
        return [self.key_at(i) for i in range(start, end + 1)]

    def to_ranges(self, keys: Iterable[str]) -> str:
        """Compacts keys into `a..c,e` over the definition's order."""
        indexes = sorted({self.index_of(k) for k in keys})
        items: list[str] = []
        run_start = prev = None
        for index in [*indexes, None]:
            if prev is not None and index == prev + 1:
                prev = index
                continue
            if run_start is not None and prev is not None:
                first, last = self.key_at(run_start), self.key_at(prev)
                items.append(first if run_start == prev else f"{first}{RANGE_SEPARATOR}{last}")
            run_start = prev = index
        return ",".join(items)

    def from_ranges(self, text: str) -> list[str]:
        """Expands `a..c,e` back into keys."""
        keys: list[str] = []
        for item in filter(None, (part.strip() for part in text.split(","))):
            first, sep, last = item.partition(RANGE_SEPARATOR)
            keys.extend(self.key_range(first, last) if sep else [self.validate_key(first)])
        return keys

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PartitionsDefinition) and self.spec() == other.spec()

    def __hash__(self) -> int:
        return hash(repr(sorted(self.spec().items())))


class StaticPartitionsDefinition(PartitionsDefinition):
    """A fixed list of keys, e.g. regions: `StaticPartitionsDefinition(["eu", "us"])`."""

    kind = "static"

    def __init__(self, partition_keys: Sequence[str]) -> None:
        keys = list(partition_keys)
        if not keys:
            raise PartitionError("StaticPartitionsDefinition needs at least one key")
        for key in keys:
            if not isinstance(key, str) or not _STATIC_KEY.match(key):
                raise PartitionError(
                    f"invalid partition key {key!r}: use up to 63 letters, digits, '_', '.', "
                    "':', '+', '-', not starting with a symbol"
                )
            if key == UNPARTITIONED_NAME or TEMP_NAME_MARK in key:
                raise PartitionError(
                    f"invalid partition key {key!r}: '{UNPARTITIONED_NAME}' and keys "
                    f"containing '{TEMP_NAME_MARK}' are reserved for kasset's storage files"
                )
        if len(set(keys)) != len(keys):
            dupes = sorted({k for k in keys if keys.count(k) > 1})
            raise PartitionError(f"duplicate partition keys: {', '.join(dupes)}")
        self._keys = keys
        self._index = {key: i for i, key in enumerate(keys)}

    def keys(self, now: datetime | None = None) -> list[str]:
        return list(self._keys)

    def index_of(self, key: str) -> int:
        try:
            return self._index[key]
        except KeyError:
            raise PartitionError(f"unknown partition key {key!r}") from None

    def key_at(self, index: int) -> str:
        return self._keys[index]

    def spec(self) -> dict[str, Any]:
        return {"type": self.kind, "keys": list(self._keys)}

    def __repr__(self) -> str:
        return f"StaticPartitionsDefinition({self._keys!r})"


class TimeWindowPartitionsDefinition(PartitionsDefinition):
    """Consecutive windows of a fixed length from `start`, keyed by their start time."""

    kind = "time"
    step: timedelta
    fmt: str

    def __init__(
        self,
        start: str | date | datetime,
        end: str | date | datetime | None = None,
        timezone: str = "UTC",
    ) -> None:
        try:
            self.tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise PartitionError(f"unknown time zone {timezone!r}") from None
        self.timezone = timezone
        self.start = self._coerce(start, "start")
        self.end = self._coerce(end, "end") if end is not None else None
        if self.end is not None and self.end <= self.start:
            raise PartitionError(f"partitions end {self._format(self.end)} is not after start")

    def _coerce(self, value: str | date | datetime, what: str) -> datetime:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime(value.year, value.month, value.day)
        else:
            moment = self._parse(value, what)
        return moment if moment.tzinfo else moment.replace(tzinfo=self.tz)

    def _parse(self, text: str, what: str) -> datetime:
        for fmt in (self.fmt, "%Y-%m-%d"):
            try:
                return datetime.strptime(text, fmt).replace(tzinfo=self.tz)
            except ValueError:
                continue
        raise PartitionError(f"invalid {what} {text!r}: expected the format {self.fmt}")

    def _format(self, moment: datetime) -> str:
        return moment.astimezone(self.tz).strftime(self.fmt)

    def _window_start(self, index: int) -> datetime:
        return (self.start.astimezone(UTC) + self.step * index).astimezone(self.tz)

    def index_of(self, key: str) -> int:
        moment = self._parse(key, "partition key")
        if self._format(moment) != key:
            raise PartitionError(f"invalid partition key {key!r}: expected the format {self.fmt}")
        offset = moment.astimezone(UTC) - self.start.astimezone(UTC)
        index, remainder = divmod(offset, self.step)
        if remainder or index < 0 or (self.end is not None and moment >= self.end):
            raise PartitionError(
                f"partition key {key!r} is outside the partitions {self._describe()}"
            )
        return int(index)

    def key_at(self, index: int) -> str:
        return self._format(self._window_start(index))

    def keys(self, now: datetime | None = None) -> list[str]:
        closed = self._closed_count(now or datetime.now(UTC))
        return [self.key_at(i) for i in range(closed)]

    def _closed_count(self, now: datetime) -> int:
        limit = now if self.end is None else min(now, self.end)
        elapsed = limit.astimezone(UTC) - self.start.astimezone(UTC)
        return max(0, int(elapsed // self.step))

    def last_closed_key(self, now: datetime) -> str | None:
        """The newest window that has ended by `now`: what a schedule tick targets."""
        count = self._closed_count(now)
        return self.key_at(count - 1) if count else None

    def time_window(self, key: str) -> tuple[datetime, datetime]:
        begin = self._window_start(self.index_of(key))
        return begin, (begin.astimezone(UTC) + self.step).astimezone(self.tz)

    def spec(self) -> dict[str, Any]:
        return {
            "type": self.kind,
            "start": self._format(self.start),
            "end": self._format(self.end) if self.end else None,
            "timezone": self.timezone,
        }

    def _describe(self) -> str:
        end = self._format(self.end) if self.end else "now"
        return f"{self.kind} from {self._format(self.start)} to {end} ({self.timezone})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._describe()})"


class DailyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition a day, keyed `YYYY-MM-DD`: `DailyPartitionsDefinition(start="2024-01-01")`."""

    kind = "daily"
    step = timedelta(days=1)
    fmt = "%Y-%m-%d"

    def index_of(self, key: str) -> int:
        # Days are counted on the calendar so that DST changes do not shift the windows.
        moment = self._parse(key, "partition key")
        if self._format(moment) != key:
            raise PartitionError(f"invalid partition key {key!r}: expected the format {self.fmt}")
        index = (moment.date() - self.start.date()).days
        if index < 0 or (self.end is not None and moment >= self.end):
            raise PartitionError(
                f"partition key {key!r} is outside the partitions {self._describe()}"
            )
        return index

    def _window_start(self, index: int) -> datetime:
        day = self.start.date() + timedelta(days=index)
        return datetime(day.year, day.month, day.day, tzinfo=self.tz)

    def _closed_count(self, now: datetime) -> int:
        limit = now if self.end is None else min(now, self.end)
        local = limit.astimezone(self.tz)
        return max(0, (local.date() - self.start.date()).days)

    def time_window(self, key: str) -> tuple[datetime, datetime]:
        index = self.index_of(key)
        return self._window_start(index), self._window_start(index + 1)


class HourlyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition an hour, keyed `YYYY-MM-DD-HH:MM` (Dagster's format)."""

    kind = "hourly"
    step = timedelta(hours=1)
    fmt = "%Y-%m-%d-%H:%M"

    # Keys are local wall-clock hours. Where the zone changes its offset, real hours and
    # wall-clock hours differ: the repeated hour of a fall-back is one partition (two real
    # hours long), and the skipped hour of a spring-forward is no partition at all. Those
    # zones index their keys through a table built on first use; UTC and fixed offsets
    # keep the plain arithmetic.

    def _has_transitions(self) -> bool:
        offsets = {
            datetime(2000 + y, m, 1, tzinfo=self.tz).utcoffset()
            for y in range(0, 40, 5)
            for m in (1, 7)
        }
        return len(offsets) > 1

    def _table(self, until: datetime) -> tuple[list[str], dict[str, int]]:
        keys: list[str] = getattr(self, "_keys", [])
        index: dict[str, int] = getattr(self, "_index", {})
        limit = until if self.end is None else min(until, self.end)
        moment = (
            self.start.astimezone(UTC)
            if not keys
            else self._parse(keys[-1], "key").astimezone(UTC) + self.step
        )
        while moment < limit.astimezone(UTC):
            key = self._format(moment)
            if key not in index:
                index[key] = len(keys)
                keys.append(key)
            moment += self.step
        self._keys, self._index = keys, index
        return keys, index

    def index_of(self, key: str) -> int:
        if not self._has_transitions():
            return super().index_of(key)
        moment = self._parse(key, "partition key")
        _, index = self._table(moment.astimezone(UTC) + 2 * self.step)
        if key not in index:
            if self._format(moment) == key and moment >= self.start:
                raise PartitionError(
                    f"partition key {key!r} is not a wall-clock hour of {self.timezone} "
                    "(it falls in a daylight-saving gap) or is outside the partitions"
                )
            raise PartitionError(
                f"partition key {key!r} is outside the partitions {self._describe()}"
            )
        return index[key]

    def key_at(self, index: int) -> str:
        if not self._has_transitions():
            return super().key_at(index)
        keys, _ = self._table(self.start)
        while len(keys) <= index:
            before = len(keys)
            last = self._parse(keys[-1], "key") if keys else self.start
            keys, _ = self._table(last.astimezone(UTC) + self.step * (index - len(keys) + 2))
            if len(keys) == before:
                raise PartitionError(f"no partition at position {index}: past the end")
        return keys[index]

    def keys(self, now: datetime | None = None) -> list[str]:
        if not self._has_transitions():
            return super().keys(now)
        limit = (now or datetime.now(UTC)) - self.step
        keys, _ = self._table(limit + timedelta(microseconds=1))
        return [k for k in keys if self._parse(k, "key") <= limit] if keys else []


def partitions_from_spec(spec: dict[str, Any] | None) -> PartitionsDefinition | None:
    """Rebuilds a definition from the JSON form `PartitionsDefinition.spec()` wrote."""
    if not spec:
        return None
    kind = spec.get("type")
    if kind == "static":
        return StaticPartitionsDefinition(spec.get("keys") or [])
    classes: dict[str, type[TimeWindowPartitionsDefinition]] = {
        "daily": DailyPartitionsDefinition,
        "hourly": HourlyPartitionsDefinition,
    }
    if kind in classes:
        return classes[kind](spec["start"], spec.get("end"), spec.get("timezone") or "UTC")
    raise PartitionError(f"unknown partitions type {kind!r}: expected static, daily or hourly")
