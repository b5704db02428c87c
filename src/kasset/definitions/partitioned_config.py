"""`PartitionedConfig`: a job's run config as a function of its partition, with Dagster's
decorators `@static_partitioned_config(keys)` and `@daily_partitioned_config(start_date)`
(the function gets the key, or the window's start and end)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from kasset.definitions.partitions import (
    DailyPartitionsDefinition,
    PartitionsDefinition,
    StaticPartitionsDefinition,
    TimeWindowPartitionsDefinition,
)
from kasset.errors import DefinitionError

__all__ = ["PartitionedConfig", "daily_partitioned_config", "static_partitioned_config"]

RunConfig = Mapping[str, Any]


@dataclass(frozen=True)
class PartitionedConfig:
    """`partitions_def` and how a partition key becomes run config (and tags)."""

    partitions_def: PartitionsDefinition
    run_config_for_partition_key_fn: Callable[[str], RunConfig]
    tags_for_partition_key_fn: Callable[[str], Mapping[str, str]] | None = None

    def get_run_config_for_partition_key(self, partition_key: str) -> RunConfig:
        self.partitions_def.validate_key(partition_key)
        config = self.run_config_for_partition_key_fn(partition_key)
        if not isinstance(config, Mapping):
            raise DefinitionError(
                f"partitioned config for {partition_key!r} returned {type(config).__name__}, "
                "expected a dict of run config"
            )
        return config

    def get_tags_for_partition_key(self, partition_key: str) -> Mapping[str, str]:
        tags = {"dagster/partition": partition_key}
        if self.tags_for_partition_key_fn is not None:
            tags.update(self.tags_for_partition_key_fn(partition_key))
        return tags


def static_partitioned_config(
    partition_keys: Sequence[str],
    tags_for_partition_key_fn: Callable[[str], Mapping[str, str]] | None = None,
) -> Callable[[Callable[[str], RunConfig]], PartitionedConfig]:
    """`@static_partitioned_config(["eu", "us"])` over `fn(partition_key) -> run config`."""
    definition = StaticPartitionsDefinition(partition_keys)

    def decorate(fn: Callable[[str], RunConfig]) -> PartitionedConfig:
        return PartitionedConfig(definition, fn, tags_for_partition_key_fn)

    return decorate


def daily_partitioned_config(
    start_date: str | date | datetime,
    minute_offset: int = 0,
    hour_offset: int = 0,
    timezone: str | None = None,
    fmt: str | None = None,
    end_offset: int = 0,
    tags_for_partition_fn: Callable[[datetime, datetime], Mapping[str, str]] | None = None,
) -> Callable[[Callable[[datetime, datetime], RunConfig]], PartitionedConfig]:
    """`@daily_partitioned_config(start_date="2024-01-01")` over `fn(start, end)`."""
    definition = DailyPartitionsDefinition(
        start_date,
        minute_offset=minute_offset,
        hour_offset=hour_offset,
        timezone=timezone,
        fmt=fmt,
        end_offset=end_offset,
    )

    def decorate(fn: Callable[[datetime, datetime], RunConfig]) -> PartitionedConfig:
        return PartitionedConfig(
            definition,
            lambda key: fn(*_window(definition, key)),
            (lambda key: tags_for_partition_fn(*_window(definition, key)))
            if tags_for_partition_fn
            else None,
        )

    return decorate


def _window(definition: TimeWindowPartitionsDefinition, key: str) -> tuple[datetime, datetime]:
    window = definition.time_window(key)
    return window.start, window.end
