"""kasset: declare data assets in Python, materialize them on Kubernetes.

Everything public is re-exported here; every other module is private.
"""

from typing import TYPE_CHECKING, Any

from kasset.definitions import (
    AllPartitionMapping,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetDep,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    DailyPartitionsDefinition,
    Definitions,
    DimensionPartitionMapping,
    DynamicPartitionsDefinition,
    HourlyPartitionsDefinition,
    IdentityPartitionMapping,
    LastPartitionMapping,
    MaterializeResult,
    MonthlyPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionMapping,
    MultiPartitionsDefinition,
    MultiToSingleDimensionPartitionMapping,
    PartitionedConfig,
    PartitionKeyRange,
    PartitionMapping,
    Resources,
    RetryPolicy,
    ScheduleDefinition,
    SpecificPartitionsPartitionMapping,
    StaticPartitionMapping,
    StaticPartitionsDefinition,
    TimeWindow,
    TimeWindowPartitionMapping,
    TimeWindowPartitionsDefinition,
    Toleration,
    WeeklyPartitionsDefinition,
    asset,
    asset_check,
    daily_partitioned_config,
    static_partitioned_config,
)

if TYPE_CHECKING:
    from kasset.local import ExecutionResult, materialize

__version__ = "0.1.0"

__all__ = [
    "AllPartitionMapping",
    "AssetCheckResult",
    "AssetCheckSeverity",
    "AssetDep",
    "AssetExecutionContext",
    "AssetIn",
    "AssetKey",
    "DailyPartitionsDefinition",
    "Definitions",
    "DimensionPartitionMapping",
    "DynamicPartitionsDefinition",
    "ExecutionResult",
    "HourlyPartitionsDefinition",
    "IdentityPartitionMapping",
    "LastPartitionMapping",
    "MaterializeResult",
    "MonthlyPartitionsDefinition",
    "MultiPartitionKey",
    "MultiPartitionMapping",
    "MultiPartitionsDefinition",
    "MultiToSingleDimensionPartitionMapping",
    "PartitionKeyRange",
    "PartitionMapping",
    "PartitionedConfig",
    "Resources",
    "RetryPolicy",
    "ScheduleDefinition",
    "SpecificPartitionsPartitionMapping",
    "StaticPartitionMapping",
    "StaticPartitionsDefinition",
    "TimeWindow",
    "TimeWindowPartitionMapping",
    "TimeWindowPartitionsDefinition",
    "Toleration",
    "WeeklyPartitionsDefinition",
    "asset",
    "asset_check",
    "daily_partitioned_config",
    "materialize",
    "static_partitioned_config",
]


def __getattr__(name: str) -> Any:
    # `materialize` loads on first use, so step pods (which never call it) start faster.
    if name in ("ExecutionResult", "materialize"):
        from kasset import local

        return getattr(local, name)
    raise AttributeError(f"module 'kasset' has no attribute {name!r}")
