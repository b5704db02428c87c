"""Partitions on the wire: how an asset is partitioned, which partitions a run covers, and the
compact range strings (``a..c,f``) that summarise large partition sets in status."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import ConfigDict, Field, model_validator

from kasset.resources.base import (
    AssetKeyStr,
    KassetModel,
    NameStr,
    PartitionKeyStr,
    cel,
    list_map,
    list_set,
)

__all__ = [
    "MAX_PARTITIONS",
    "DimensionMapping",
    "NamedPartitionsDefinition",
    "PartitionDimension",
    "PartitionMapping",
    "PartitionMappingType",
    "PartitionRange",
    "PartitionRangesStr",
    "PartitionSelection",
    "PartitionType",
    "PartitionsDefinition",
    "SinglePartitionMapping",
    "SinglePartitionsDefinition",
]

#: Most keys a static definition or a run's explicit key list may hold (the step bound).
MAX_PARTITIONS = 10_000
# `2024-01-01` (daily) or `2024-01-01-00:00` (hourly); `T` or a space also separate the time.
TIME_PARTITION_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([-T ][0-9]{2}:[0-9]{2})?$"
TimePartitionStr = Annotated[str, Field(pattern=TIME_PARTITION_PATTERN, max_length=16)]
#: Comma-separated partition keys and `first..last` ranges over the definition's key order.
PartitionRangesStr = Annotated[str, Field(max_length=512 * 1024)]
PartitionKeyList = Annotated[
    list[PartitionKeyStr],
    Field(min_length=1, max_length=MAX_PARTITIONS, json_schema_extra=list_set()),
]


class PartitionType(StrEnum):
    STATIC = "static"
    DYNAMIC = "dynamic"
    DAILY = "daily"
    HOURLY = "hourly"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    TIME = "time"
    MULTI = "multi"


_TIME = "['daily', 'hourly', 'weekly', 'monthly', 'time']"
_KEYED = "['static', 'dynamic']"
_TIME_TYPES = {PartitionType.DAILY, PartitionType.HOURLY, PartitionType.WEEKLY}
_TIME_TYPES |= {PartitionType.MONTHLY, PartitionType.TIME}


_SINGLE_RULES = (
    ("self.type != 'static' || has(self.keys)", "static partitions need keys"),
    ("self.type != 'dynamic' || has(self.dynamicName)", "dynamic partitions need dynamicName"),
    (f"!(self.type in {_TIME}) || has(self.start)", "time partitions need start"),
    ("self.type != 'time' || has(self.cron)", "time partitions need cron"),
    (
        f"self.type in {_KEYED} || !has(self.keys)",
        "keys are only for static and dynamic partitions; time keys come from start/end",
    ),
    (
        f"self.type in {_TIME} || (!has(self.start) && !has(self.end) && !has(self.cron))",
        "start, end and cron are only for time partitions",
    ),
)
_MULTI_RULES = (
    ("self.type != 'multi' || has(self.dimensions)", "multi partitions need dimensions"),
    (
        "self.type == 'multi' || !has(self.dimensions)",
        "dimensions are only for multi partitions",
    ),
)


class SinglePartitionsDefinition(KassetModel):
    """How an asset (or one dimension) is partitioned: fixed keys (static), keys added at
    run time (dynamic), or time windows of a cron from start (daily, hourly, weekly,
    monthly, time)."""

    model_config = ConfigDict(json_schema_extra=cel(*_SINGLE_RULES))

    type: PartitionType = Field(
        description="static, dynamic, daily, hourly, weekly, monthly, time (any cron) or multi."
    )
    keys: PartitionKeyList | None = Field(
        None, description="The keys, in order (static; dynamic: the keys known so far)."
    )
    dynamic_name: NameStr | None = Field(None, description="Name of the dynamic partitions.")
    start: TimePartitionStr | None = Field(
        None,
        description="First window starts here (local time), e.g. 2024-01-01 or 2024-01-01-06:00.",
    )
    end: TimePartitionStr | None = Field(
        None, description="No window ends after this (exclusive); empty means now."
    )
    timezone: str = Field(
        "UTC",
        description="IANA timezone that windows are counted in.",
        pattern=r"^[A-Za-z][A-Za-z0-9_+/-]*$",
        max_length=64,
    )
    fmt: str | None = Field(
        None,
        description="strftime format of the keys; unset means the kind's default.",
        max_length=64,
    )
    cron: str | None = Field(
        None,
        description="Cron of the window starts; unset means the kind's default (daily: 0 0 * * *).",
        max_length=128,
    )
    end_offset: int | None = Field(
        None,
        description="Windows past the last closed one (negative: fewer).",
        ge=-100000,
        le=100000,
    )

    @model_validator(mode="after")
    def _fields_match_type(self) -> Self:
        kind = self.type
        if kind is PartitionType.STATIC and self.keys is None:
            raise ValueError("static partitions need keys")
        if kind is PartitionType.DYNAMIC and self.dynamic_name is None:
            raise ValueError("dynamic partitions need dynamicName")
        if kind in _TIME_TYPES:
            if self.start is None:
                raise ValueError("time partitions need start")
            if kind is PartitionType.TIME and self.cron is None:
                raise ValueError("time partitions need cron")
            if self.keys is not None:
                raise ValueError("keys are only for static and dynamic partitions")
        elif any(getattr(self, f) is not None for f in ("start", "end", "cron")):
            raise ValueError("start, end and cron are only for time partitions")
        return self


class PartitionDimension(KassetModel):
    """One named dimension of multi partitions."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            ("self.partitions.type != 'multi'", "a dimension cannot itself be multi partitions")
        )
    )

    name: NameStr = Field(description="Dimension name, e.g. date.")
    partitions: SinglePartitionsDefinition = Field(description="The dimension's partitions.")


class PartitionsDefinition(SinglePartitionsDefinition):
    """How an asset is partitioned; `multi` is the product of `dimensions`."""

    model_config = ConfigDict(json_schema_extra=cel(*_SINGLE_RULES, *_MULTI_RULES))

    dimensions: list[PartitionDimension] | None = Field(
        None,
        description="The dimensions (multi only), at least two.",
        min_length=2,
        max_length=8,
        json_schema_extra=list_map("name"),
    )

    @model_validator(mode="after")
    def _dimensions_match_type(self) -> Self:
        for dimension in self.dimensions or []:
            if dimension.partitions.type is PartitionType.MULTI:
                raise ValueError("a dimension cannot itself be multi partitions")
        if (self.type is PartitionType.MULTI) != (self.dimensions is not None):
            raise ValueError("multi partitions need dimensions, and only they take them")
        return self


class NamedPartitionsDefinition(PartitionsDefinition):
    """A partitions definition that assets of a graph share by name, as Dagster assets share
    one PartitionsDefinition object."""

    name: NameStr = Field(description="Name the assets refer to, e.g. daily.")


class PartitionMappingType(StrEnum):
    IDENTITY = "identity"
    TIME_WINDOW = "timeWindow"
    ALL = "all"
    LAST = "last"
    STATIC = "static"
    SPECIFIC = "specific"
    MULTI_TO_SINGLE = "multiToSingle"
    MULTI = "multi"


class SinglePartitionMapping(KassetModel):
    """How a downstream asset's partitions read an upstream's (Dagster's mapping kinds)."""

    type: PartitionMappingType = Field(
        description="identity, timeWindow, all, last, static, specific, multiToSingle or multi."
    )
    start_offset: int | None = Field(
        None,
        description="timeWindow: shift of the window start, in downstream windows.",
        ge=-100000,
        le=100000,
    )
    end_offset: int | None = Field(
        None,
        description="timeWindow: shift of the window end, in downstream windows.",
        ge=-100000,
        le=100000,
    )
    allow_nonexistent: bool | None = Field(
        None, description="timeWindow: upstream windows before the first may be asked for."
    )
    keys: PartitionKeyList | None = Field(None, description="specific: the upstream keys read.")
    key_map: dict[str, Annotated[list[PartitionKeyStr], Field(max_length=1000)]] | None = Field(
        None,
        description="static: downstream keys by upstream key.",
        json_schema_extra={"maxProperties": MAX_PARTITIONS},
    )
    dimension: NameStr | None = Field(None, description="multiToSingle: the shared dimension.")


class DimensionMapping(KassetModel):
    """multi: which downstream dimension an upstream dimension reads, and how."""

    upstream: NameStr = Field(description="Upstream dimension.")
    downstream: NameStr = Field(description="Downstream dimension it reads.")
    mapping: SinglePartitionMapping = Field(description="The mapping between the two.")


class PartitionMapping(SinglePartitionMapping):
    """The partition mapping of one upstream of an asset."""

    dep: AssetKeyStr = Field(description="The upstream asset (one of deps).")
    dimensions: list[DimensionMapping] | None = Field(
        None, description="multi: per upstream dimension.", max_length=8
    )


class PartitionRange(KassetModel):
    """Partitions from start to end, both included, in the definition's key order."""

    start: PartitionKeyStr = Field(description="First partition key of the range.")
    end: PartitionKeyStr = Field(description="Last partition key of the range (included).")


class PartitionSelection(KassetModel):
    """The partitions a run materializes: explicit keys or one range."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            ("has(self.keys) != has(self.range)", "partitions needs exactly one of keys or range")
        )
    )

    keys: PartitionKeyList | None = Field(None, description="Partition keys to materialize.")
    range: PartitionRange | None = Field(None, description="A range of partitions.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.keys is None) == (self.range is None):
            raise ValueError("partitions needs exactly one of keys or range")
        return self
