"""What a data engineer declares: assets, checks, partitions, schedules, definitions."""

from kasset.definitions.asset import AssetIn, AssetsDefinition, asset
from kasset.definitions.asset_dep import AssetDep
from kasset.definitions.check import AssetChecksDefinition, asset_check
from kasset.definitions.context import (
    AssetExecutionContext,
    OpExecutionContext,
    build_asset_context,
)
from kasset.definitions.definitions import Definitions, definitions
from kasset.definitions.env import EnvVar
from kasset.definitions.jobs import AssetSelection, define_asset_job
from kasset.definitions.keys import AssetKey, StepKey
from kasset.definitions.metadata import (
    MetadataValue,
    TableColumn,
    TableColumnConstraints,
    TableRecord,
    TableSchema,
)
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
from kasset.definitions.policies import Backoff, Jitter, Resources, RetryPolicy, Toleration
from kasset.definitions.results import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetMaterialization,
    AssetObservation,
    DataVersion,
    MaterializeResult,
    Output,
    RetryRequested,
)
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
    "AssetMaterialization",
    "AssetObservation",
    "AssetSelection",
    "AssetsDefinition",
    "Backoff",
    "DailyPartitionsDefinition",
    "DataVersion",
    "Definitions",
    "DimensionPartitionMapping",
    "DynamicPartitionsDefinition",
    "EnvVar",
    "HourlyPartitionsDefinition",
    "IdentityPartitionMapping",
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
    "PartitionKeyRange",
    "PartitionMapping",
    "PartitionedConfig",
    "PartitionsDefinition",
    "Resources",
    "RetryPolicy",
    "RetryRequested",
    "ScheduleDefinition",
    "SpecificPartitionsPartitionMapping",
    "StaticPartitionMapping",
    "StaticPartitionsDefinition",
    "StepKey",
    "TableColumn",
    "TableColumnConstraints",
    "TableRecord",
    "TableSchema",
    "TimeWindow",
    "TimeWindowPartitionMapping",
    "TimeWindowPartitionsDefinition",
    "Toleration",
    "WeeklyPartitionsDefinition",
    "asset",
    "asset_check",
    "build_asset_context",
    "daily_partitioned_config",
    "define_asset_job",
    "definitions",
    "static_partitioned_config",
]
