"""What a data engineer declares: assets, checks, partitions, schedules, definitions."""

from kasset.definitions.asset import AssetIn, AssetsDefinition, asset
from kasset.definitions.check import AssetChecksDefinition, asset_check
from kasset.definitions.context import AssetExecutionContext
from kasset.definitions.definitions import Definitions
from kasset.definitions.keys import AssetKey, StepKey
from kasset.definitions.partitions import (
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    PartitionsDefinition,
    StaticPartitionsDefinition,
)
from kasset.definitions.policies import Resources, RetryPolicy, Toleration
from kasset.definitions.results import AssetCheckResult, AssetCheckSeverity, MaterializeResult
from kasset.definitions.schedule import ScheduleDefinition

__all__ = [
    "AssetCheckResult",
    "AssetCheckSeverity",
    "AssetChecksDefinition",
    "AssetExecutionContext",
    "AssetIn",
    "AssetKey",
    "AssetsDefinition",
    "DailyPartitionsDefinition",
    "Definitions",
    "HourlyPartitionsDefinition",
    "MaterializeResult",
    "PartitionsDefinition",
    "Resources",
    "RetryPolicy",
    "ScheduleDefinition",
    "StaticPartitionsDefinition",
    "StepKey",
    "Toleration",
    "asset",
    "asset_check",
]
