"""Sets of partitions as sorted, disjoint `range`s of positions in a definition's order.

A 100,000-day backfill is one range, and mapping it through a time-window mapping is a
few cron computations, not 100,000 parsed keys: planning and mappings work on these.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from kasset.definitions.partitions import PartitionsDefinition

__all__ = ["Ranges", "count", "keys_of", "normalize", "ranges_of", "span"]

Ranges = list[range]


def normalize(ranges: Iterable[range]) -> Ranges:
    """Sorted, merged, non-empty ranges (step 1)."""
    result: Ranges = []
    for item in sorted((r for r in ranges if len(r)), key=lambda r: r.start):
        if result and item.start <= result[-1].stop:
            last = result[-1]
            result[-1] = range(last.start, max(last.stop, item.stop))
        else:
            result.append(item)
    return result


def clip(ranges: Iterable[range], limit: int) -> Ranges:
    """Only the positions in [0, limit)."""
    return normalize(range(max(0, r.start), min(limit, r.stop)) for r in ranges)


def span(definition: PartitionsDefinition, now: datetime | None) -> Ranges:
    """Every key of the definition at `now`."""
    return normalize([range(0, definition.count(now))])


def ranges_of(definition: PartitionsDefinition, keys: Iterable[str]) -> Ranges:
    return normalize(range(i, i + 1) for i in {definition.index_of(k) for k in keys})


def keys_of(definition: PartitionsDefinition, ranges: Sequence[range]) -> list[str]:
    return [definition.key_at(i) for r in ranges for i in r]


def count(ranges: Sequence[range]) -> int:
    return sum(len(r) for r in ranges)


def intersect(a: Sequence[range], b: Sequence[range]) -> Ranges:
    result: Ranges = []
    i = j = 0
    while i < len(a) and j < len(b):
        low, high = max(a[i].start, b[j].start), min(a[i].stop, b[j].stop)
        if low < high:
            result.append(range(low, high))
        if a[i].stop < b[j].stop:
            i += 1
        else:
            j += 1
    return result
