"""What an asset or check function may return besides a plain value."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["AssetCheckResult", "AssetCheckSeverity", "MaterializeResult"]


class _NoValue:
    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE: Any = _NoValue()


@dataclass
class MaterializeResult:
    """A value plus metadata about it: `MaterializeResult(value=df, metadata={"rows": 10})`.

    Without `value`, nothing is stored (the function wrote its output itself).
    """

    value: Any = NO_VALUE
    metadata: dict[str, Any] = field(default_factory=dict)
    data_version: str | None = None


class AssetCheckSeverity(StrEnum):
    ERROR = "ERROR"
    WARN = "WARN"


@dataclass
class AssetCheckResult:
    """The outcome of an asset check. A failed blocking check with severity ERROR stops
    the asset's downstream steps."""

    passed: bool
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR
    metadata: dict[str, Any] = field(default_factory=dict)
    description: str | None = None

    def __post_init__(self) -> None:
        self.severity = AssetCheckSeverity(self.severity)
