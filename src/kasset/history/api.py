"""The history store's one interface (`HistoryStore`) and the records it answers with.

Pure: the UI, the CLI and the operator type against this without importing a database
library. Every list is a `Page` with an opaque cursor (keyset pagination: the next page
starts after the last row's sort key, so a page costs the same at row 50 as at row
99,950, and rows added meanwhile neither repeat nor vanish).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from kasset.errors import HistoryError
from kasset.history.events import HistoryEvent
from kasset.history.retention import RetentionReport, RetentionRules

__all__ = [
    "MAX_PAGE",
    "AssetRef",
    "HistoryStore",
    "Page",
    "RunFilter",
    "RunRecord",
    "SearchResult",
    "SeriesPoint",
    "StoredEvent",
    "decode_cursor",
    "encode_cursor",
]

MAX_PAGE = 1000
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as stored: `seq` is its place in the log (insertion order)."""

    seq: int
    event: HistoryEvent


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A run as the run-phase events describe it (`phase` None: only steps seen)."""

    namespace: str
    run: str
    graph: str
    phase: str | None
    created: datetime
    ended: datetime | None = None
    launched_by: str | None = None
    selection: str | None = None
    partitions: str | None = None
    message: str | None = None
    assets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunFilter:
    """Filters of the runs page; every one that is set must hold. Times bound the run's
    creation: `since` inclusive, `until` exclusive."""

    graph: str | None = None
    asset: str | None = None
    phases: tuple[str, ...] = ()
    launched_by: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    time: datetime
    value: float
    run: str | None
    partition: str | None


@dataclass(frozen=True, slots=True)
class AssetRef:
    namespace: str
    graph: str
    asset: str
    last_event: datetime


@dataclass(frozen=True, slots=True)
class SearchResult:
    assets: list[AssetRef]
    runs: list[RunRecord]


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of rows; pass `next_cursor` back for the next one (None: the last)."""

    items: list[T]
    next_cursor: str | None = None


class HistoryStore(Protocol):
    """The event log and its queries. `append` is idempotent by event id."""

    def append(self, events: Sequence[HistoryEvent]) -> int:
        """Stores the events not stored yet, in one transaction; returns how many."""
        ...

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
        """An asset's events of these kinds (materializations, observations, check
        evaluations: `name` picks one check), newest first."""
        ...

    def run_events(
        self, namespace: str, run: str, *, limit: int = 500, cursor: str | None = None
    ) -> Page[StoredEvent]:
        """A run's event log, oldest first."""
        ...

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
        """The ticks of one schedule or sensor (or any kind keyed by name), newest first."""
        ...

    def runs(
        self,
        namespace: str | None,
        filters: RunFilter | None = None,
        *,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[RunRecord]:
        """Runs newest first (by creation), in one namespace or all (None)."""
        ...

    def get_run(self, namespace: str, run: str) -> RunRecord | None: ...

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
        """The newest `limit` values of one numeric metadata key, oldest first (a plot)."""
        ...

    def metadata_keys(self, namespace: str, graph: str, asset: str) -> list[str]:
        """The numeric metadata keys an asset has ever reported."""
        ...

    def search(self, namespace: str | None, text: str, *, limit: int = 20) -> SearchResult:
        """Assets and runs whose key, name or graph contains `text` (any case)."""
        ...

    def enforce_retention(self, rules: RetentionRules, now: datetime) -> RetentionReport:
        """Deletes what `rules` no longer keep (a bounded amount per call)."""
        ...

    def close(self) -> None: ...


def encode_cursor(*parts: int | str) -> str:
    """An opaque cursor for a sort key.

    >>> decode_cursor(encode_cursor(1700000000000000, 42), 2)
    ['1700000000000000', '42']
    """
    text = "\x1f".join(str(part) for part in parts)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, parts: int) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = base64.urlsafe_b64decode(padded.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise HistoryError(f"malformed page cursor {cursor[:40]!r}") from None
    values = decoded.split("\x1f")
    if len(values) != parts:
        raise HistoryError(f"malformed page cursor {cursor[:40]!r}")
    return values
