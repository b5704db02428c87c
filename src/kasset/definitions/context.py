"""The `context` an asset or check function may ask for (a parameter named `context`, or
annotated `AssetExecutionContext`), with Dagster's attribute names, and
`build_asset_context()` to make one in a unit test."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kasset.definitions.keys import AssetKey, CoercibleToAssetKey
from kasset.definitions.partitions import (
    PartitionKeyRange,
    PartitionsDefinition,
    TimeWindow,
    TimeWindowPartitionsDefinition,
)
from kasset.errors import DefinitionError, PartitionError

__all__ = [
    "AssetExecutionContext",
    "InputPartitions",
    "OpExecutionContext",
    "RunInfo",
    "StepResources",
    "build_asset_context",
]


@dataclass(frozen=True)
class RunInfo:
    """`context.run`: the run this step belongs to."""

    run_id: str
    tags: Mapping[str, str] = field(default_factory=dict)
    job_name: str | None = None


@dataclass
class AssetExecutionContext:
    """What a running step knows about itself.

    `context.log.info(...)` writes to the step's log; `context.add_output_metadata({...})`
    attaches metadata to the materialization, like returning a MaterializeResult;
    `context.log_event(AssetObservation(...))` reports an observation.
    """

    run_id: str
    asset_key: AssetKey
    partition_key_or_none: str | None
    attempt: int = 1
    metadata: Mapping[str, Any] = field(default_factory=dict)
    partition_time_window: tuple[datetime, datetime] | None = None
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("kasset.user"))
    output_metadata: dict[str, Any] = field(default_factory=dict)
    resources: Any = None
    op_config: Any = None
    run_tags: Mapping[str, str] = field(default_factory=dict)
    job_name: str | None = None
    event_hook: Callable[[Any], None] | None = None
    logged_events: list[Any] = field(default_factory=list)

    @property
    def run(self) -> RunInfo:
        return RunInfo(self.run_id, dict(self.run_tags), self.job_name)

    dagster_run = run

    @property
    def retry_number(self) -> int:
        """0 on the first attempt, 1 on the first retry, ..."""
        return self.attempt - 1

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

    @property
    def partition_keys(self) -> list[str]:
        """The partitions this step materializes (one per step in kasset)."""
        return [self.partition_key]

    @property
    def asset_partition_key_for_output(self) -> str:
        return self.partition_key

    @property
    def selected_asset_keys(self) -> set[AssetKey]:
        return {self.asset_key}

    @property
    def asset_key_for_output(self) -> AssetKey:
        return self.asset_key

    @property
    def op_execution_context(self) -> AssetExecutionContext:
        return self

    @property
    def instance(self) -> Any:
        raise DefinitionError(
            "context.instance: kasset has no Dagster instance; use context.run_id, "
            "context.run.tags, or query the Asset objects (kubectl get assets)"
        )

    def has_tag(self, key: str) -> bool:
        return key in self.run_tags

    def get_tag(self, key: str) -> str | None:
        return self.run_tags.get(key)

    def add_output_metadata(
        self, metadata: Mapping[str, Any], output_name: str | None = None
    ) -> None:
        self.output_metadata.update(metadata)

    add_asset_metadata = add_output_metadata

    def log_event(self, event: Any) -> None:
        """Reports an `AssetMaterialization` (of this asset: its metadata joins the
        step's), an `AssetObservation`, or an `AssetCheckResult`."""
        if self.event_hook is not None:
            self.event_hook(event)
        else:
            self.logged_events.append(event)

    # Partitions (a step runs one partition: its key range and window span just it).

    partitions_def: PartitionsDefinition | None = None
    #: Per input parameter: the upstream partitions the step's partition was mapped to.
    input_partitions: Mapping[str, InputPartitions] = field(default_factory=dict)

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


OpExecutionContext = AssetExecutionContext


class StepResources:
    """`context.resources`: the step's resources by attribute (`context.resources.db`)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            known = ", ".join(sorted(self._values)) or "none"
            raise DefinitionError(
                f"no resource '{name}' for this step (it has: {known}); add it to "
                "required_resource_keys or name a parameter after it"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._values

    @property
    def original_resource_dict(self) -> dict[str, Any]:
        return dict(self._values)


def build_asset_context(
    resources: Mapping[str, Any] | None = None,
    resources_config: Mapping[str, Any] | None = None,
    asset_config: Any = None,
    partition_key: str | None = None,
    *,
    asset_key: CoercibleToAssetKey = "asset",
    run_id: str = "test-run",
    run_tags: Mapping[str, str] | None = None,
    retry_number: int = 0,
) -> AssetExecutionContext:
    """A context for calling an asset function directly in a test:
    `orders(build_asset_context(resources={"db": FakeDb()}))`. Events it is given are kept
    in `context.logged_events`. Resources are used as given (not set up)."""
    return AssetExecutionContext(
        run_id=run_id,
        asset_key=AssetKey.from_coercible(asset_key),
        partition_key_or_none=partition_key,
        attempt=retry_number + 1,
        resources=StepResources(dict(resources or {})),
        op_config=asset_config,
        run_tags=dict(run_tags or {}),
    )


@dataclass(frozen=True)
class InputPartitions:
    """The partitions of one upstream a step reads, in the upstream's key order."""

    partitions_def: PartitionsDefinition
    keys: tuple[str, ...]
