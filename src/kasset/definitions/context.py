"""The `context` an asset or check function may ask for by naming a parameter `context`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kasset.definitions.keys import AssetKey
from kasset.definitions.partitions import (
    PartitionKeyRange,
    PartitionsDefinition,
    TimeWindow,
    TimeWindowPartitionsDefinition,
)
from kasset.errors import PartitionError

__all__ = ["AssetExecutionContext", "InputPartitions"]


@dataclass
class AssetExecutionContext:
    """What a running step knows about itself.

    `context.log.info(...)` writes to the step's log; `context.add_output_metadata({...})`
    attaches metadata to the materialization, like returning a MaterializeResult.
    """

    run_id: str
    asset_key: AssetKey
    partition_key_or_none: str | None
    attempt: int = 1
    metadata: Mapping[str, Any] = field(default_factory=dict)
    partition_time_window: tuple[datetime, datetime] | None = None
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("kasset.user"))
    output_metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def has_partition_key(self) -> bool:
        return self.partition_key_or_none is not None

    @property
    def partition_key(self) -> str:
        if self.partition_key_or_none is None:
            raise PartitionError(
                f"asset {self.asset_key} is not partitioned: it has no partition key"
            )
        return self.partition_key_or_none

    def add_output_metadata(self, metadata: Mapping[str, Any]) -> None:
        self.output_metadata.update(metadata)

    # Partitions (a step runs one partition: its key range and window span just it).

    partitions_def: PartitionsDefinition | None = None
    #: Per input parameter: the upstream partitions the step's partition was mapped to.
    input_partitions: Mapping[str, InputPartitions] = field(default_factory=dict)

    @property
    def partition_keys(self) -> list[str]:
        return [self.partition_key]

    @property
    def partition_key_range(self) -> PartitionKeyRange:
        return PartitionKeyRange(self.partition_key, self.partition_key)

    @property
    def partition_time_window_or_error(self) -> TimeWindow:
        if self.partition_time_window is None:
            raise PartitionError(f"asset {self.asset_key} is not partitioned by time windows")
        return TimeWindow(*self.partition_time_window)

    def _input(self, input_name: str) -> InputPartitions:
        try:
            return self.input_partitions[input_name]
        except KeyError:
            names = ", ".join(sorted(self.input_partitions)) or "none"
            raise PartitionError(
                f"asset {self.asset_key}: no partitioned input {input_name!r} (partitioned "
                f"inputs: {names})"
            ) from None

    def asset_partition_keys_for_input(self, input_name: str) -> list[str]:
        return list(self._input(input_name).keys)

    def asset_partition_key_for_input(self, input_name: str) -> str:
        keys = self._input(input_name).keys
        if len(keys) != 1:
            raise PartitionError(
                f"input {input_name!r} maps to {len(keys)} partitions: use "
                "asset_partition_key_range_for_input"
            )
        return keys[0]

    def asset_partition_key_range_for_input(self, input_name: str) -> PartitionKeyRange:
        keys = self._input(input_name).keys
        if not keys:
            raise PartitionError(f"input {input_name!r} maps to no partition")
        return PartitionKeyRange(keys[0], keys[-1])

    def asset_partitions_time_window_for_input(self, input_name: str) -> TimeWindow:
        mapped = self._input(input_name)
        definition = mapped.partitions_def
        if not isinstance(definition, TimeWindowPartitionsDefinition) or not mapped.keys:
            raise PartitionError(f"input {input_name!r} is not mapped to time-window partitions")
        return TimeWindow(
            definition.time_window(mapped.keys[0]).start,
            definition.time_window(mapped.keys[-1]).end,
        )


@dataclass(frozen=True)
class InputPartitions:
    """The partitions of one upstream a step reads, in the upstream's key order."""

    partitions_def: PartitionsDefinition
    keys: tuple[str, ...]
