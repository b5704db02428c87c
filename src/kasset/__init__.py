"""kasset: declare data assets in Python, materialize them on Kubernetes.

Everything public is re-exported here; every other module is private.
"""

from kasset.definitions import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    DailyPartitionsDefinition,
    Definitions,
    HourlyPartitionsDefinition,
    MaterializeResult,
    Resources,
    RetryPolicy,
    ScheduleDefinition,
    StaticPartitionsDefinition,
    Toleration,
    asset,
    asset_check,
)

__version__ = "0.1.0"

__all__ = [
    "AssetCheckResult",
    "AssetCheckSeverity",
    "AssetExecutionContext",
    "AssetIn",
    "AssetKey",
    "DailyPartitionsDefinition",
    "Definitions",
    "HourlyPartitionsDefinition",
    "MaterializeResult",
    "Resources",
    "RetryPolicy",
    "ScheduleDefinition",
    "StaticPartitionsDefinition",
    "Toleration",
    "asset",
    "asset_check",
]
