"""kasset: declare data assets in Python, materialize them on Kubernetes.

Everything public is re-exported here; every other module is private.
"""

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from kasset.local import ExecutionResult, materialize

__version__ = "0.1.0"

__all__ = [
    "AssetCheckResult",
    "AssetCheckSeverity",
    "AssetExecutionContext",
    "AssetIn",
    "AssetKey",
    "DailyPartitionsDefinition",
    "Definitions",
    "ExecutionResult",
    "HourlyPartitionsDefinition",
    "MaterializeResult",
    "Resources",
    "RetryPolicy",
    "ScheduleDefinition",
    "StaticPartitionsDefinition",
    "Toleration",
    "asset",
    "asset_check",
    "materialize",
]


def __getattr__(name: str) -> Any:
    # `materialize` loads on first use, so step pods (which never call it) start faster.
    if name in ("ExecutionResult", "materialize"):
        from kasset import local

        return getattr(local, name)
    raise AttributeError(f"module 'kasset' has no attribute {name!r}")
