"""What a data engineer declares: assets, checks, partitions, schedules, definitions."""

from kasset.definitions.asset import AssetIn, AssetsDefinition, asset
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
from kasset.definitions.partitions import (
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    PartitionsDefinition,
    StaticPartitionsDefinition,
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
    "AssetCheckResult",
    "AssetCheckSeverity",
    "AssetChecksDefinition",
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
    "EnvVar",
    "HourlyPartitionsDefinition",
    "Jitter",
    "MaterializeResult",
    "MetadataValue",
    "OpExecutionContext",
    "Output",
    "PartitionsDefinition",
    "Resources",
    "RetryPolicy",
    "RetryRequested",
    "ScheduleDefinition",
    "StaticPartitionsDefinition",
    "StepKey",
    "TableColumn",
    "TableColumnConstraints",
    "TableRecord",
    "TableSchema",
    "Toleration",
    "asset",
    "asset_check",
    "build_asset_context",
    "define_asset_job",
    "definitions",
]
