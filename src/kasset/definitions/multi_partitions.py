"""Partitions that are the product of named dimensions: `MultiPartitionsDefinition(
{"date": daily, "region": regions})`, keyed `2024-01-01|eu` (dimension names sorted, as
Dagster orders them). Dagster takes exactly two dimensions; kasset takes two or more.

Sets of such keys compact into boxes, one `first..last` item per box of the product
(`2024-01-01|eu..2024-01-31|us` is 31 days x {eu, us}), so a status stays small when a
backfill covers whole rows or columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from itertools import product
from math import prod
from typing import Any, NamedTuple

from kasset.definitions.partitions_base import (
    RANGE_SEPARATOR,
    PartitionsDefinition,
)
from kasset.errors import PartitionError

__all__ = [
    "MULTI_SEPARATOR",
    "MultiPartitionKey",
    "MultiPartitionsDefinition",
    "PartitionDimensionDefinition",
]

MULTI_SEPARATOR = "|"


class PartitionDimensionDefinition(NamedTuple):
    name: str
    partitions_def: PartitionsDefinition


class PartitionDimensionKey(NamedTuple):
    dimension_name: str
    partition_key: str


class MultiPartitionKey(str):
    """A key of a MultiPartitionsDefinition: a string (`2024-01-01|eu`) that also knows
    its key in each dimension (`.keys_by_dimension`)."""

    keys_by_dimension: dict[str, str]

    def __new__(cls, keys_by_dimension: Mapping[str, str]) -> MultiPartitionKey:
        ordered = dict(sorted(keys_by_dimension.items()))
        for name, key in ordered.items():
            if not isinstance(key, str) or MULTI_SEPARATOR in key:
                raise PartitionError(f"invalid key {key!r} of dimension {name!r}")
        text = super().__new__(cls, MULTI_SEPARATOR.join(ordered.values()))
        text.keys_by_dimension = ordered
        return text

    @property
    def dimension_keys(self) -> list[PartitionDimensionKey]:
        return [PartitionDimensionKey(n, k) for n, k in self.keys_by_dimension.items()]

    def __getnewargs__(self) -> tuple[dict[str, str]]:  # type: ignore[override]
        return (self.keys_by_dimension,)


class MultiPartitionsDefinition(PartitionsDefinition):
    """The product of two or more named partitions definitions."""

    kind = "multi"

    def __init__(self, partitions_defs: Mapping[str, PartitionsDefinition]) -> None:
        if not isinstance(partitions_defs, Mapping) or len(partitions_defs) < 2:
            raise PartitionError("MultiPartitionsDefinition needs at least two dimensions")
        for name, definition in partitions_defs.items():
            if not isinstance(name, str) or not name or MULTI_SEPARATOR in name:
                raise PartitionError(f"invalid dimension name {name!r}")
            if not isinstance(definition, PartitionsDefinition) or isinstance(
                definition, MultiPartitionsDefinition
            ):
                raise PartitionError(
                    f"dimension {name!r} must be a single (not multi) PartitionsDefinition"
                )
        self.partitions_defs = [
            PartitionDimensionDefinition(n, d) for n, d in sorted(partitions_defs.items())
        ]
        self.names = [d.name for d in self.partitions_defs]
        self._defs = [d.partitions_def for d in self.partitions_defs]

    @property
    def partition_dimension_names(self) -> list[str]:
        return list(self.names)

    def get_partitions_def_for_dimension(self, dimension_name: str) -> PartitionsDefinition:
        return self._defs[self._dimension(dimension_name)]

    def _dimension(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise PartitionError(
                f"no dimension {name!r}: the dimensions are {', '.join(self.names)}"
            ) from None

    # Keys.

    def split(self, key: str) -> list[str]:
        """The key in each dimension (sorted by name); PartitionError if not a key."""
        parts = (
            list(key.keys_by_dimension.values())
            if isinstance(key, MultiPartitionKey)
            else str(key).split(MULTI_SEPARATOR)
        )
        if len(parts) != len(self._defs):
            raise PartitionError(
                f"invalid partition key {key!r}: expected {len(self._defs)} keys joined by "
                f"'{MULTI_SEPARATOR}' ({MULTI_SEPARATOR.join(self.names)})"
            )
        return parts

    def join(self, parts: Sequence[str]) -> MultiPartitionKey:
        return MultiPartitionKey(dict(zip(self.names, parts, strict=True)))

    def coordinates(self, key: str) -> tuple[int, ...]:
        return tuple(d.index_of(p) for d, p in zip(self._defs, self.split(key), strict=True))

    def keys(self, now: datetime | None = None) -> list[str]:
        dimension_keys = [d.keys(now) for d in self._defs]
        return [self.join(parts) for parts in product(*dimension_keys)]

    def count(self, now: datetime | None = None) -> int:
        return prod(d.count(now) for d in self._defs)

    def index_of(self, key: str) -> int:
        # Mixed radix over the sizes now: an order for planning; status strings do not
        # depend on it (they are boxes of per-dimension keys).
        index = 0
        for definition, position in zip(self._defs, self.coordinates(key), strict=True):
            index = index * max(1, definition.count()) + position
        return index

    def key_at(self, index: int) -> str:
        sizes = [max(1, d.count()) for d in self._defs]
        positions: list[int] = []
        for size in reversed(sizes):
            index, position = divmod(index, size)
            positions.append(position)
        return self.join(
            [d.key_at(p) for d, p in zip(self._defs, reversed(positions), strict=True)]
        )

    def validate_key(self, key: str) -> str:
        self.coordinates(key)
        return key if isinstance(key, MultiPartitionKey) else self.join(self.split(key))

    def key_range(self, first: str, last: str) -> list[str]:
        """The box between two corner keys: every combination of each dimension's range."""
        ranges = [
            d.key_range(a, b)
            for d, a, b in zip(self._defs, self.split(first), self.split(last), strict=True)
        ]
        return [self.join(parts) for parts in product(*ranges)]

    def to_ranges(self, keys: Iterable[str]) -> str:
        """Compacts keys into boxes `lo..hi` (corner keys), merged dimension by dimension."""
        boxes = [tuple((c, c) for c in self.coordinates(k)) for k in keys]
        for dimension in reversed(range(len(self._defs))):
            boxes = _merge_along(sorted(set(boxes)), dimension)
        items = []
        for box in sorted(boxes):
            low = self.join([d.key_at(lo) for d, (lo, _) in zip(self._defs, box, strict=True)])
            high = self.join([d.key_at(hi) for d, (_, hi) in zip(self._defs, box, strict=True)])
            items.append(low if low == high else f"{low}{RANGE_SEPARATOR}{high}")
        return ",".join(items)

    def spec(self) -> dict[str, Any]:
        return {
            "type": self.kind,
            "dimensions": [
                {"name": d.name, "partitions": _without_nulls(d.partitions_def.spec())}
                for d in self.partitions_defs
            ],
        }

    def __repr__(self) -> str:
        inner = ", ".join(f"{d.name!r}: {d.partitions_def!r}" for d in self.partitions_defs)
        return f"MultiPartitionsDefinition({{{inner}}})"


Box = tuple[tuple[int, int], ...]


def _merge_along(boxes: list[Box], dimension: int) -> list[Box]:
    """Merges boxes equal in every other dimension whose intervals in `dimension` touch."""
    groups: dict[Box, list[tuple[int, int]]] = {}
    for box in boxes:
        rest = box[:dimension] + box[dimension + 1 :]
        groups.setdefault(rest, []).append(box[dimension])
    merged: list[Box] = []
    for rest, intervals in groups.items():
        intervals.sort()
        runs: list[list[int]] = []
        for low, high in intervals:
            if runs and low <= runs[-1][1] + 1:
                runs[-1][1] = max(runs[-1][1], high)
            else:
                runs.append([low, high])
        for low, high in runs:
            merged.append((*rest[:dimension], (low, high), *rest[dimension:]))
    return merged


def _without_nulls(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if v is not None}
