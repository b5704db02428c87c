"""What a data engineer declares: assets, checks, partitions, schedules, definitions."""

from kasset.definitions.asset import AssetIn, AssetsDefinition, asset
from kasset.definitions.asset_dep import AssetDep
from kasset.definitions.check import AssetChecksDefinition, asset_check
from kasset.definitions.context import AssetExecutionContext
from kasset.definitions.definitions import Definitions
from kasset.definitions.keys import AssetKey, StepKey
from kasset.definitions.multi_partitions import MultiPartitionKey, MultiPartitionsDefinition
from kasset.definitions.partition_mappings import (
    AllPartitionMapping,
    DimensionPartitionMapping,
    IdentityPartitionMapping,
    LastPartitionMapping,
    MultiPartitionMapping,
    MultiToSingleDimensionPartitionMapping,
    PartitionMapping,
    SpecificPartitionsPartitionMapping,
    StaticPartitionMapping,
    TimeWindowPartitionMapping,
)
from kasset.definitions.partitioned_config import (
    PartitionedConfig,
    daily_partitioned_config,
    static_partitioned_config,
)
from kasset.definitions.partitions import (
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    PartitionKeyRange,
    PartitionsDefinition,
    StaticPartitionsDefinition,
    TimeWindow,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
)
from kasset.definitions.policies import Resources, RetryPolicy, Toleration
from kasset.definitions.results import AssetCheckResult, AssetCheckSeverity, MaterializeResult
from kasset.definitions.schedule import ScheduleDefinition

__all__ = [
    "AllPartitionMapping",
    "AssetCheckResult",
    "AssetCheckSeverity",
    "AssetChecksDefinition",
    "AssetDep",
    "AssetExecutionContext",
    "AssetIn",
    "AssetKey",
    "AssetsDefinition",
    "DailyPartitionsDefinition",
    "Definitions",
    "DimensionPartitionMapping",
    "DynamicPartitionsDefinition",
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
    "PartitionsDefinition",
    "Resources",
    "RetryPolicy",
    "ScheduleDefinition",
    "SpecificPartitionsPartitionMapping",
    "StaticPartitionMapping",
    "StaticPartitionsDefinition",
    "StepKey",
    "TimeWindow",
    "TimeWindowPartitionMapping",
    "TimeWindowPartitionsDefinition",
    "Toleration",
    "WeeklyPartitionsDefinition",
    "asset",
    "asset_check",
    "daily_partitioned_config",
    "static_partitioned_config",
]
