"""Partitions: how one asset splits into independently materialized slices.

Static partitions are a fixed list of keys, dynamic ones a list that grows at run time;
time windows (`time_partitions`) and products of dimensions (`multi_partitions`) build on
the same base (`partitions_base`). Every definition orders its keys, which is what makes
the compact range strings (`2024-01-01..2024-01-31,2024-02-03`) possible. This module is
where the rest of kasset imports them from.
"""

from __future__ import annotations

from typing import Any

from kasset.definitions.multi_partitions import MultiPartitionsDefinition
from kasset.definitions.partitions_base import (
    RANGE_SEPARATOR,
    TEMP_NAME_MARK,
    UNPARTITIONED_NAME,
    DynamicPartitionsDefinition,
    PartitionKeyRange,
    PartitionsDefinition,
    StaticPartitionsDefinition,
)
from kasset.definitions.time_partitions import (
    TIME_KINDS,
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    TimeWindow,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
    time_partitions_from_spec,
)
from kasset.errors import PartitionError

__all__ = [
    "RANGE_SEPARATOR",
    "TEMP_NAME_MARK",
    "TIME_KINDS",
    "UNPARTITIONED_NAME",
    "DailyPartitionsDefinition",
    "DynamicPartitionsDefinition",
    "HourlyPartitionsDefinition",
    "MonthlyPartitionsDefinition",
    "PartitionKeyRange",
    "PartitionsDefinition",
    "StaticPartitionsDefinition",
    "TimeWindow",
    "TimeWindowPartitionsDefinition",
    "WeeklyPartitionsDefinition",
    "partitions_from_spec",
]


def partitions_from_spec(spec: dict[str, Any] | None) -> PartitionsDefinition | None:
    """Rebuilds a definition from the JSON form `PartitionsDefinition.spec()` wrote."""
    if not spec:
        return None
    kind = spec.get("type")
    if kind == "static":
        return StaticPartitionsDefinition(spec.get("keys") or [])
    if kind == "dynamic":
        dynamic = DynamicPartitionsDefinition(name=spec.get("dynamicName"))
        dynamic.add_keys(spec.get("keys") or [])
        return dynamic
    if kind == "multi":
        dimensions: dict[str, PartitionsDefinition] = {}
        for dimension in spec.get("dimensions") or []:
            inner = partitions_from_spec(dimension.get("partitions"))
            if inner is None:
                raise PartitionError(f"dimension {dimension.get('name')!r} has no partitions")
            dimensions[dimension["name"]] = inner
        return MultiPartitionsDefinition(dimensions)
    if kind in TIME_KINDS:
        return time_partitions_from_spec(spec)
    raise PartitionError(
        f"unknown partitions type {kind!r}: expected static, dynamic, multi or one of "
        f"{', '.join(TIME_KINDS)}"
    )
