"""Partition mappings: which partitions of an upstream asset a downstream partition reads,
with Dagster's names (`AssetIn(partition_mapping=TimeWindowPartitionMapping(-6, 0))`).

Each mapping answers both directions on position ranges (`partition_ranges`): the upstream
partitions a set of downstream ones needs, and the downstream partitions a set of upstream
ones feeds (what a backfill from roots expands to). Each is data too (`spec()`), so the
operator evaluates the mapping from the compiled AssetGraph without user code.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import product
from typing import Any, NamedTuple

from kasset.definitions.keys import AssetKey
from kasset.definitions.multi_partitions import MultiPartitionsDefinition
from kasset.definitions.partition_ranges import (
    Ranges,
    clip,
    keys_of,
    ranges_of,
    span,
)
from kasset.definitions.partitions import PartitionsDefinition
from kasset.definitions.time_partitions import TimeWindow, TimeWindowPartitionsDefinition
from kasset.errors import PartitionError

__all__ = [
    "AllPartitionMapping",
    "DimensionPartitionMapping",
    "IdentityPartitionMapping",
    "LastPartitionMapping",
    "MultiPartitionMapping",
    "MultiToSingleDimensionPartitionMapping",
    "PartitionMapping",
    "SpecificPartitionsPartitionMapping",
    "StaticPartitionMapping",
    "TimeWindowPartitionMapping",
    "infer_partition_mapping",
    "mapping_from_spec",
    "mappings_from_specs",
]

PD = PartitionsDefinition


class PartitionMapping(ABC):
    """How the partitions of a downstream asset relate to those of one upstream asset."""

    type: str

    @abstractmethod
    def upstream_ranges(
        self, downstream: PD, ranges: Ranges, upstream: PD, now: datetime | None
    ) -> Ranges:
        """The upstream partitions (that exist at `now`) the downstream `ranges` read."""

    @abstractmethod
    def downstream_ranges(
        self, upstream: PD, ranges: Ranges, downstream: PD, now: datetime | None
    ) -> Ranges:
        """The downstream partitions (existing at `now`) that read any of `ranges`."""

    def upstream_keys(
        self, downstream: PD, keys: Sequence[str], upstream: PD, now: datetime | None = None
    ) -> list[str]:
        return keys_of(
            upstream, self.upstream_ranges(downstream, ranges_of(downstream, keys), upstream, now)
        )

    def downstream_keys(
        self, upstream: PD, keys: Sequence[str], downstream: PD, now: datetime | None = None
    ) -> list[str]:
        return keys_of(
            downstream, self.downstream_ranges(upstream, ranges_of(upstream, keys), downstream, now)
        )

    @abstractmethod
    def spec(self) -> dict[str, Any]:
        """The JSON form stored in the AssetGraph (`GraphAsset.partitionMappings`)."""


class _KeyMapping(PartitionMapping):
    """A mapping defined key by key (static keys, dimensions): ranges go through keys."""

    @abstractmethod
    def _upstream(
        self, downstream: PD, keys: list[str], upstream: PD, now: datetime | None
    ) -> list[str]: ...

    @abstractmethod
    def _downstream(
        self, upstream: PD, keys: list[str], downstream: PD, now: datetime | None
    ) -> list[str]: ...

    def upstream_ranges(
        self, downstream: PD, ranges: Ranges, upstream: PD, now: datetime | None
    ) -> Ranges:
        keys = self._upstream(downstream, keys_of(downstream, ranges), upstream, now)
        return clip(ranges_of(upstream, _existing(upstream, keys)), upstream.count(now))

    def downstream_ranges(
        self, upstream: PD, ranges: Ranges, downstream: PD, now: datetime | None
    ) -> Ranges:
        keys = self._downstream(upstream, keys_of(upstream, ranges), downstream, now)
        return clip(ranges_of(downstream, _existing(downstream, keys)), downstream.count(now))


def _existing(definition: PD, keys: Sequence[str]) -> list[str]:
    return [k for k in dict.fromkeys(keys) if definition.has_partition_key(k)]


@dataclass(frozen=True)
class IdentityPartitionMapping(PartitionMapping):
    """The same key upstream and downstream."""

    type = "identity"

    def upstream_ranges(
        self, downstream: PD, ranges: Ranges, upstream: PD, now: datetime | None
    ) -> Ranges:
        if downstream == upstream:
            return clip(ranges, upstream.count(now))
        return ranges_of(upstream, _existing(upstream, keys_of(downstream, ranges)))

    def downstream_ranges(
        self, upstream: PD, ranges: Ranges, downstream: PD, now: datetime | None
    ) -> Ranges:
        return self.upstream_ranges(upstream, ranges, downstream, now)

    def spec(self) -> dict[str, Any]:
        return {"type": self.type}


@dataclass(frozen=True)
class AllPartitionMapping(PartitionMapping):
    """Every upstream partition feeds every downstream one."""

    type = "all"

    def upstream_ranges(
        self, downstream: PD, ranges: Ranges, upstream: PD, now: datetime | None
    ) -> Ranges:
        return span(upstream, now) if ranges else []

    def downstream_ranges(
        self, upstream: PD, ranges: Ranges, downstream: PD, now: datetime | None
    ) -> Ranges:
        return span(downstream, now) if ranges else []

    def spec(self) -> dict[str, Any]:
        return {"type": self.type}


@dataclass(frozen=True)
class LastPartitionMapping(PartitionMapping):
    """Every downstream partition reads the newest upstream partition."""

    type = "last"

    def upstream_ranges(
        self, downstream: PD, ranges: Ranges, upstream: PD, now: datetime | None
    ) -> Ranges:
        total = upstream.count(now)
        return [range(total - 1, total)] if ranges and total else []

    def downstream_ranges(
        self, upstream: PD, ranges: Ranges, downstream: PD, now: datetime | None
    ) -> Ranges:
        total = upstream.count(now)
        feeds = bool(total) and any((total - 1) in r for r in ranges)
        return span(downstream, now) if feeds else []

    def spec(self) -> dict[str, Any]:
        return {"type": self.type}


@dataclass(frozen=True)
class SpecificPartitionsPartitionMapping(_KeyMapping):
    """Every downstream partition reads the same chosen upstream partitions."""

    partition_keys: Sequence[str]
    type = "specific"

    def __post_init__(self) -> None:
        object.__setattr__(self, "partition_keys", tuple(self.partition_keys))

    def _upstream(
        self, downstream: PD, keys: list[str], upstream: PD, now: datetime | None
    ) -> list[str]:
        return list(self.partition_keys) if keys else []

    def _downstream(
        self, upstream: PD, keys: list[str], downstream: PD, now: datetime | None
    ) -> list[str]:
        return downstream.keys(now) if set(keys) & set(self.partition_keys) else []

    def spec(self) -> dict[str, Any]:
        return {"type": self.type, "keys": list(self.partition_keys)}


@dataclass(frozen=True)
class StaticPartitionMapping(_KeyMapping):
    """Named upstream keys feed named downstream keys:
    `StaticPartitionMapping({"eu-west": "eu", "eu-north": "eu", "us-east": "us"})`."""

    downstream_partition_keys_by_upstream_partition_key: Mapping[str, str | Collection[str]]
    type = "static"
    _by_upstream: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table = {
            up: (down,) if isinstance(down, str) else tuple(down)
            for up, down in self.downstream_partition_keys_by_upstream_partition_key.items()
        }
        object.__setattr__(self, "_by_upstream", table)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._by_upstream.items())))

    def _upstream(
        self, downstream: PD, keys: list[str], upstream: PD, now: datetime | None
    ) -> list[str]:
        wanted = set(keys)
        return [up for up, downs in self._by_upstream.items() if wanted.intersection(downs)]

    def _downstream(
        self, upstream: PD, keys: list[str], downstream: PD, now: datetime | None
    ) -> list[str]:
        return [down for key in keys for down in self._by_upstream.get(key, ())]

    def spec(self) -> dict[str, Any]:
        return {"type": self.type, "keyMap": {k: list(v) for k, v in self._by_upstream.items()}}


@dataclass(frozen=True)
class TimeWindowPartitionMapping(PartitionMapping):
    """A downstream window reads the upstream windows that overlap it, shifted by
    `start_offset`/`end_offset` windows: `TimeWindowPartitionMapping(start_offset=-6)` is
    a 7-day rolling window, `(-1, -1)` yesterday. Works across cadences (hourly -> daily:
    a day reads its 24 hours)."""

    start_offset: int = 0
    end_offset: int = 0
    allow_nonexistent_upstream_partitions: bool = False
    type = "timeWindow"

    # Offsets count windows of the downstream asset, in both directions (as Dagster's).

    def upstream_ranges(
        self, downstream: PD, ranges: Ranges, upstream: PD, now: datetime | None
    ) -> Ranges:
        source, target = _time_windows(downstream, upstream)
        if source == target:  # the same windows: a shift of positions
            shifted = [range(r.start + self.start_offset, r.stop + self.end_offset) for r in ranges]
            return clip(shifted, target.count(now))
        mapped = [
            target.indexes_overlapping(
                TimeWindow(
                    source.window_at(item.start + self.start_offset).start,
                    source.window_at(item.stop - 1 + self.end_offset).end,
                )
            )
            for item in ranges
        ]
        return clip(mapped, target.count(now))

    def downstream_ranges(
        self, upstream: PD, ranges: Ranges, downstream: PD, now: datetime | None
    ) -> Ranges:
        source, target = _time_windows(upstream, downstream)
        if source == target:
            shifted = [range(r.start - self.end_offset, r.stop - self.start_offset) for r in ranges]
            return clip(shifted, target.count(now))
        mapped = []
        for item in ranges:
            window = TimeWindow(
                source.window_at(item.start).start, source.window_at(item.stop - 1).end
            )
            overlapping = target.indexes_overlapping(window)
            mapped.append(
                range(overlapping.start - self.end_offset, overlapping.stop - self.start_offset)
            )
        return clip(mapped, target.count(now))

    def spec(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "startOffset": self.start_offset or None,
            "endOffset": self.end_offset or None,
            "allowNonexistent": self.allow_nonexistent_upstream_partitions or None,
        }


@dataclass(frozen=True)
class MultiToSingleDimensionPartitionMapping(_KeyMapping):
    """A multi-partitioned asset and a single-partitioned one related through one
    dimension: `2024-01-01|eu` and `2024-01-01` (dimension `date`)."""

    partition_dimension_name: str | None = None
    type = "multiToSingle"

    def _dimension(self, multi: MultiPartitionsDefinition, single: PD) -> int:
        if self.partition_dimension_name is not None:
            return multi.names.index(self.partition_dimension_name)
        matching = [i for i, d in enumerate(multi.partitions_defs) if d.partitions_def == single]
        if len(matching) != 1:
            raise PartitionError(
                "MultiToSingleDimensionPartitionMapping: name the dimension "
                "(partition_dimension_name=...): no single dimension matches"
            )
        return matching[0]

    def _to_single(self, multi: PD, keys: list[str], single: PD) -> list[str]:
        assert isinstance(multi, MultiPartitionsDefinition)
        dim = self._dimension(multi, single)
        return [multi.split(k)[dim] for k in keys]

    def _to_multi(self, single: PD, keys: list[str], multi: PD, now: datetime | None) -> list[str]:
        assert isinstance(multi, MultiPartitionsDefinition)
        dim = self._dimension(multi, single)
        wanted = set(keys)
        return [k for k in multi.keys(now) if multi.split(k)[dim] in wanted]

    def _upstream(
        self, downstream: PD, keys: list[str], upstream: PD, now: datetime | None
    ) -> list[str]:
        if isinstance(downstream, MultiPartitionsDefinition):
            return self._to_single(downstream, keys, upstream)
        return self._to_multi(downstream, keys, upstream, now)

    def _downstream(
        self, upstream: PD, keys: list[str], downstream: PD, now: datetime | None
    ) -> list[str]:
        if isinstance(upstream, MultiPartitionsDefinition):
            return self._to_single(upstream, keys, downstream)
        return self._to_multi(upstream, keys, downstream, now)

    def spec(self) -> dict[str, Any]:
        return {"type": self.type, "dimension": self.partition_dimension_name}


class DimensionPartitionMapping(NamedTuple):
    """Which downstream dimension an upstream dimension maps from, and how."""

    dimension_name: str
    partition_mapping: PartitionMapping


@dataclass(frozen=True)
class MultiPartitionMapping(_KeyMapping):
    """Between two multi-partitioned assets, dimension by dimension:
    `MultiPartitionMapping({"date": DimensionPartitionMapping("date",
    TimeWindowPartitionMapping(-1, -1)), "region": DimensionPartitionMapping("region",
    IdentityPartitionMapping())})`, keyed by upstream dimension. An upstream dimension
    left out reads the downstream dimension of the same name as is, or all its keys."""

    downstream_mappings_by_upstream_dimension: Mapping[str, DimensionPartitionMapping]
    type = "multi"

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.downstream_mappings_by_upstream_dimension)))

    def _plan(
        self, upstream: MultiPartitionsDefinition, downstream: MultiPartitionsDefinition
    ) -> list[tuple[int, int | None, PartitionMapping]]:
        """Per upstream dimension: the downstream dimension it reads and the mapping."""
        steps: list[tuple[int, int | None, PartitionMapping]] = []
        for up_index, up_name in enumerate(upstream.names):
            chosen = self.downstream_mappings_by_upstream_dimension.get(up_name)
            if chosen is not None:
                steps.append(
                    (
                        up_index,
                        downstream.names.index(chosen.dimension_name),
                        chosen.partition_mapping,
                    )
                )
            elif up_name in downstream.names:
                steps.append(
                    (up_index, downstream.names.index(up_name), IdentityPartitionMapping())
                )
            else:
                steps.append((up_index, None, AllPartitionMapping()))
        return steps

    def _upstream(
        self, downstream: PD, keys: list[str], upstream: PD, now: datetime | None
    ) -> list[str]:
        up, down = _both_multi(upstream, downstream)
        result: list[str] = []
        for key in keys:
            parts = down.split(key)
            per_dimension = []
            for up_index, down_index, mapping in self._plan(up, down):
                up_def = up._defs[up_index]
                if down_index is None:
                    per_dimension.append(up_def.keys(now))
                else:
                    per_dimension.append(
                        mapping.upstream_keys(
                            down._defs[down_index], [parts[down_index]], up_def, now
                        )
                    )
            result.extend(up.join(combo) for combo in product(*per_dimension))
        return result

    def _downstream(
        self, upstream: PD, keys: list[str], downstream: PD, now: datetime | None
    ) -> list[str]:
        up, down = _both_multi(upstream, downstream)
        wanted = set(keys)
        return [
            k for k in down.keys(now) if wanted.intersection(self._upstream(down, [k], up, now))
        ]

    def spec(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "dimensions": [
                {
                    "upstream": up,
                    "downstream": m.dimension_name,
                    "mapping": m.partition_mapping.spec(),
                }
                for up, m in sorted(self.downstream_mappings_by_upstream_dimension.items())
            ],
        }


def _time_windows(
    a: PD, b: PD
) -> tuple[TimeWindowPartitionsDefinition, TimeWindowPartitionsDefinition]:
    if not isinstance(a, TimeWindowPartitionsDefinition) or not isinstance(
        b, TimeWindowPartitionsDefinition
    ):
        raise PartitionError("TimeWindowPartitionMapping maps time-window partitions only")
    return a, b


def _both_multi(
    upstream: PD, downstream: PD
) -> tuple[MultiPartitionsDefinition, MultiPartitionsDefinition]:
    if not isinstance(upstream, MultiPartitionsDefinition) or not isinstance(
        downstream, MultiPartitionsDefinition
    ):
        raise PartitionError("MultiPartitionMapping maps between two multi-partitioned assets")
    return upstream, downstream


def infer_partition_mapping(
    upstream: PD, downstream: PD, given: PartitionMapping | None
) -> PartitionMapping:
    """The mapping an edge uses: the one given, else Dagster's default for the two kinds."""
    if given is not None:
        return given
    if isinstance(upstream, TimeWindowPartitionsDefinition) and isinstance(
        downstream, TimeWindowPartitionsDefinition
    ):
        return TimeWindowPartitionMapping()
    multi = [d for d in (upstream, downstream) if isinstance(d, MultiPartitionsDefinition)]
    if len(multi) == 1:
        single = downstream if multi[0] is upstream else upstream
        if any(d.partitions_def == single for d in multi[0].partitions_defs):
            return MultiToSingleDimensionPartitionMapping()
    return IdentityPartitionMapping()


def mapping_from_spec(spec: Mapping[str, Any]) -> PartitionMapping:
    """Rebuilds a mapping from `PartitionMapping.spec()`."""
    kind = spec.get("type")
    if kind == "identity":
        return IdentityPartitionMapping()
    if kind == "all":
        return AllPartitionMapping()
    if kind == "last":
        return LastPartitionMapping()
    if kind == "specific":
        return SpecificPartitionsPartitionMapping(list(spec.get("keys") or []))
    if kind == "static":
        return StaticPartitionMapping(dict(spec.get("keyMap") or {}))
    if kind == "timeWindow":
        return TimeWindowPartitionMapping(
            int(spec.get("startOffset") or 0),
            int(spec.get("endOffset") or 0),
            bool(spec.get("allowNonexistent")),
        )
    if kind == "multiToSingle":
        return MultiToSingleDimensionPartitionMapping(spec.get("dimension"))
    if kind == "multi":
        return MultiPartitionMapping(
            {
                d["upstream"]: DimensionPartitionMapping(
                    d["downstream"], mapping_from_spec(d["mapping"])
                )
                for d in spec.get("dimensions") or []
            }
        )
    raise PartitionError(f"unknown partition mapping type {kind!r}")


def mappings_from_specs(entries: Sequence[Mapping[str, Any]]) -> dict[AssetKey, PartitionMapping]:
    """`GraphAsset.partitionMappings` (each a mapping spec plus `dep`) by upstream key."""
    return {AssetKey.from_string(entry["dep"]): mapping_from_spec(entry) for entry in entries}
