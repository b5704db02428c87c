"""kasset: declare data assets in Python, materialize them on Kubernetes.

Everything public is re-exported here; every other module is private. Names follow
Dagster's; a Dagster name kasset refuses raises, at import, one line saying what to use
instead (`kasset.refused`).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from kasset.definitions import (
    AllPartitionMapping,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetDep,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetMaterialization,
    AssetObservation,
    AssetsDefinition,
    AssetSelection,
    Backoff,
    DailyPartitionsDefinition,
    DataVersion,
    Definitions,
    DimensionPartitionMapping,
    DynamicPartitionsDefinition,
    EnvVar,
    HourlyPartitionsDefinition,
    IdentityPartitionMapping,
    Jitter,
    LastPartitionMapping,
    MaterializeResult,
    MetadataValue,
    MonthlyPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionMapping,
    MultiPartitionsDefinition,
    MultiToSingleDimensionPartitionMapping,
    OpExecutionContext,
    Output,
    PartitionedConfig,
    PartitionKeyRange,
    PartitionMapping,
    Resources,
    RetryPolicy,
    RetryRequested,
    ScheduleDefinition,
    SpecificPartitionsPartitionMapping,
    StaticPartitionMapping,
    StaticPartitionsDefinition,
    TableColumn,
    TableColumnConstraints,
    TableRecord,
    TableSchema,
    TimeWindow,
    TimeWindowPartitionMapping,
    TimeWindowPartitionsDefinition,
    Toleration,
    WeeklyPartitionsDefinition,
    asset,
    asset_check,
    build_asset_context,
    daily_partitioned_config,
    define_asset_job,
    definitions,
    static_partitioned_config,
)
from kasset.refused import refusal

if TYPE_CHECKING:
    from kasset.definitions.config import (
        Config,
        ConfigurableIOManager,
        ConfigurableResource,
        InitResourceContext,
        ResourceDefinition,
        RunConfig,
        io_manager,
        resource,
    )
    from kasset.local import ExecutionResult, materialize
    from kasset.runtime.io_managers import (
        FilesystemIOManager,
        InMemoryIOManager,
        InputContext,
        IOManager,
        OutputContext,
    )
    from kasset.runtime.upath_io import UPathIOManager

__version__ = "0.1.0"

# Loaded on first use: pydantic only for code that declares config, the executors only
# where something is materialized, so a step pod starts fast.
_LAZY = {
    "Config": "kasset.definitions.config",
    "ConfigurableIOManager": "kasset.definitions.config",
    "ConfigurableResource": "kasset.definitions.config",
    "InitResourceContext": "kasset.definitions.config",
    "ResourceDefinition": "kasset.definitions.config",
    "RunConfig": "kasset.definitions.config",
    "io_manager": "kasset.definitions.config",
    "resource": "kasset.definitions.config",
    "ExecutionResult": "kasset.local",
    "materialize": "kasset.local",
    "FilesystemIOManager": "kasset.runtime.io_managers",
    "InMemoryIOManager": "kasset.runtime.io_managers",
    "InputContext": "kasset.runtime.io_managers",
    "IOManager": "kasset.runtime.io_managers",
    "OutputContext": "kasset.runtime.io_managers",
    "UPathIOManager": "kasset.runtime.upath_io",
}

__all__ = [
    "AllPartitionMapping",
    "AssetCheckResult",
    "AssetCheckSeverity",
    "AssetDep",
    "AssetExecutionContext",
    "AssetIn",
    "AssetKey",
    "AssetMaterialization",
    "AssetObservation",
    "AssetSelection",
    "AssetsDefinition",
    "Backoff",
    "Config",
    "ConfigurableIOManager",
    "ConfigurableResource",
    "DailyPartitionsDefinition",
    "DataVersion",
    "Definitions",
    "DimensionPartitionMapping",
    "DynamicPartitionsDefinition",
    "EnvVar",
    "ExecutionResult",
    "FilesystemIOManager",
    "HourlyPartitionsDefinition",
    "IOManager",
    "IdentityPartitionMapping",
    "InMemoryIOManager",
    "InitResourceContext",
    "InputContext",
    "Jitter",
    "LastPartitionMapping",
    "MaterializeResult",
    "MetadataValue",
    "MonthlyPartitionsDefinition",
    "MultiPartitionKey",
    "MultiPartitionMapping",
    "MultiPartitionsDefinition",
    "MultiToSingleDimensionPartitionMapping",
    "OpExecutionContext",
    "Output",
    "OutputContext",
    "PartitionKeyRange",
    "PartitionMapping",
    "PartitionedConfig",
    "ResourceDefinition",
    "Resources",
    "RetryPolicy",
    "RetryRequested",
    "RunConfig",
    "ScheduleDefinition",
    "SpecificPartitionsPartitionMapping",
    "StaticPartitionMapping",
    "StaticPartitionsDefinition",
    "TableColumn",
    "TableColumnConstraints",
    "TableRecord",
    "TableSchema",
    "TimeWindow",
    "TimeWindowPartitionMapping",
    "TimeWindowPartitionsDefinition",
    "Toleration",
    "UPathIOManager",
    "WeeklyPartitionsDefinition",
    "asset",
    "asset_check",
    "build_asset_context",
    "daily_partitioned_config",
    "define_asset_job",
    "definitions",
    "io_manager",
    "materialize",
    "resource",
    "static_partitioned_config",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        return getattr(import_module(module), name)
    refused = refusal(name)
    if refused is not None:
        raise refused
    raise AttributeError(f"module 'kasset' has no attribute {name!r}")
