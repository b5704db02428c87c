"""Partitions on the wire: how an asset is partitioned, which partitions a run covers, and the
compact range strings (``a..c,f``) that summarise large partition sets in status."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import ConfigDict, Field, model_validator

from kasset.resources.base import KassetModel, NameStr, PartitionKeyStr, cel, list_set

__all__ = [
    "MAX_PARTITIONS",
    "NamedPartitionsDefinition",
    "PartitionRange",
    "PartitionRangesStr",
    "PartitionSelection",
    "PartitionType",
    "PartitionsDefinition",
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
    DAILY = "daily"
    HOURLY = "hourly"


class PartitionsDefinition(KassetModel):
    """How an asset is partitioned: a fixed list of keys, or one key per day or hour."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            ("self.type != 'static' || has(self.keys)", "static partitions need keys"),
            ("self.type == 'static' || has(self.start)", "daily and hourly partitions need start"),
            (
                "self.type == 'static' || !has(self.keys)",
                "keys are only for static partitions; daily and hourly keys come from start/end",
            ),
            (
                "self.type != 'static' || (!has(self.start) && !has(self.end))",
                "start and end are only for daily and hourly partitions",
            ),
        )
    )

    type: PartitionType = Field(description="static, daily or hourly.")
    keys: PartitionKeyList | None = Field(None, description="The keys, in order (static only).")
    start: TimePartitionStr | None = Field(
        None, description="First partition (daily/hourly), e.g. 2024-01-01 or 2024-01-01-00:00."
    )
    end: TimePartitionStr | None = Field(
        None, description="End of the partitions, exclusive (daily/hourly); empty means now."
    )
    timezone: str = Field(
        "UTC",
        description="IANA timezone that days and hours are counted in.",
        pattern=r"^[A-Za-z][A-Za-z0-9_+/-]*$",
        max_length=64,
    )

    @model_validator(mode="after")
    def _fields_match_type(self) -> Self:
        if self.type is PartitionType.STATIC:
            if self.keys is None:
                raise ValueError("static partitions need keys")
            if self.start is not None or self.end is not None:
                raise ValueError("start and end are only for daily and hourly partitions")
        else:
            if self.start is None:
                raise ValueError("daily and hourly partitions need start")
            if self.keys is not None:
                raise ValueError("keys are only for static partitions")
        return self


class NamedPartitionsDefinition(PartitionsDefinition):
    """A partitions definition that assets of a graph share by name, as Dagster assets share
    one PartitionsDefinition object."""

    name: NameStr = Field(description="Name the assets refer to, e.g. daily.")


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
