"""What an asset or check function may return or yield besides a plain value, with
Dagster's names, argument order and meaning."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from kasset.definitions.keys import AssetKey, CoercibleToAssetKey
from kasset.errors import DefinitionError

__all__ = [
    "AssetCheckResult",
    "AssetCheckSeverity",
    "AssetMaterialization",
    "AssetObservation",
    "DataVersion",
    "MaterializeResult",
    "Output",
    "RetryRequested",
]


class _NoValue:
    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE: Any = _NoValue()


@dataclass(frozen=True)
class DataVersion:
    """A version of an asset's data: `DataVersion("3f2a")`. Equal values mean equal data."""

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str):
            raise DefinitionError(f"DataVersion takes a string, got {self.value!r}")


def _version_text(version: DataVersion | str | None) -> str | None:
    if version is None or isinstance(version, str):
        return version
    if isinstance(version, DataVersion):
        return version.value
    raise DefinitionError(f"data_version must be a DataVersion or a string, got {version!r}")


def _key_or_none(key: CoercibleToAssetKey | None) -> AssetKey | None:
    return None if key is None else AssetKey.from_coercible(key)


class AssetCheckSeverity(StrEnum):
    ERROR = "ERROR"
    WARN = "WARN"


@dataclass
class AssetCheckResult:
    """The outcome of an asset check. A failed blocking check with severity ERROR stops
    the asset's downstream steps. `asset_key` and `check_name` say which check it is
    when that is not obvious (several checks reported from one asset)."""

    passed: bool
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR
    metadata: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    asset_key: AssetKey | None = None
    check_name: str | None = None

    def __post_init__(self) -> None:
        self.severity = AssetCheckSeverity(self.severity)
        self.metadata = dict(self.metadata or {})
        self.asset_key = _key_or_none(self.asset_key)


@dataclass(init=False)
class MaterializeResult:
    """What an asset reports about the materialization it just made:
    `MaterializeResult(metadata={"rows": 10})`. As in Dagster the first positional
    argument is `asset_key`; `value=` (keyword only) also stores a value, which Dagster
    leaves to the IO manager's return-value path. Without `value`, nothing is stored
    (the function wrote its output itself)."""

    asset_key: AssetKey | None
    metadata: dict[str, Any]
    check_results: list[AssetCheckResult]
    data_version: str | None
    tags: dict[str, str]
    value: Any

    def __init__(
        self,
        asset_key: CoercibleToAssetKey | None = None,
        metadata: Mapping[str, Any] | None = None,
        check_results: Sequence[AssetCheckResult] | None = None,
        data_version: DataVersion | str | None = None,
        tags: Mapping[str, str] | None = None,
        *,
        value: Any = NO_VALUE,
    ) -> None:
        self.asset_key = _key_or_none(asset_key)
        self.metadata = dict(metadata or {})
        self.check_results = list(check_results or ())
        for result in self.check_results:
            if not isinstance(result, AssetCheckResult):
                raise DefinitionError(
                    f"MaterializeResult(check_results=...) takes AssetCheckResults, got {result!r}"
                )
        self.data_version = _version_text(data_version)
        self.tags = dict(tags or {})
        self.value = value


@dataclass(init=False)
class Output:
    """A value plus what is known about it: `Output(df, metadata={"rows": len(df)})`."""

    value: Any
    output_name: str
    metadata: dict[str, Any]
    data_version: str | None
    tags: dict[str, str]

    def __init__(
        self,
        value: Any,
        output_name: str = "result",
        metadata: Mapping[str, Any] | None = None,
        data_version: DataVersion | str | None = None,
        *,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        self.value = value
        self.output_name = output_name
        self.metadata = dict(metadata or {})
        self.data_version = _version_text(data_version)
        self.tags = dict(tags or {})


@dataclass(init=False)
class _AssetEvent:
    asset_key: AssetKey
    description: str | None
    metadata: dict[str, Any]
    partition: str | None
    tags: dict[str, str]

    def __init__(
        self,
        asset_key: CoercibleToAssetKey,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        partition: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        self.asset_key = AssetKey.from_coercible(asset_key)
        self.description = description
        self.metadata = dict(metadata or {})
        self.partition = partition
        self.tags = dict(tags or {})


class AssetMaterialization(_AssetEvent):
    """A materialization reported by the function itself (yielded, or passed to
    `context.log_event`), for the asset being materialized: its metadata joins the
    step's materialization."""


@dataclass(init=False)
class AssetObservation(_AssetEvent):
    """What was seen of an asset without materializing it (its row count, its version
    upstream): reported as an ASSET_OBSERVED event. A `data_version` (or Dagster's
    `tags={"dagster/data_version": ...}`) records the version observed."""

    data_version: str | None

    def __init__(
        self,
        asset_key: CoercibleToAssetKey,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        partition: str | None = None,
        tags: Mapping[str, str] | None = None,
        *,
        data_version: DataVersion | str | None = None,
    ) -> None:
        super().__init__(asset_key, description, metadata, partition, tags)
        self.data_version = _version_text(data_version) or self.tags.get("dagster/data_version")


class RetryRequested(Exception):  # noqa: N818 -- Dagster's name
    """Raised by a function to ask for another attempt, whatever the retry policy says:
    `raise RetryRequested(max_retries=3, seconds_to_wait=10) from error`."""

    def __init__(self, max_retries: int | None = 1, seconds_to_wait: float | None = None) -> None:
        retries = 1 if max_retries is None else max_retries
        if not 0 <= retries <= 100:
            raise DefinitionError(f"RetryRequested.max_retries must be 0..100, got {retries}")
        if seconds_to_wait is not None and seconds_to_wait < 0:
            raise DefinitionError("RetryRequested.seconds_to_wait must not be negative")
        super().__init__(f"retry requested (up to {retries} retries)")
        self.max_retries = retries
        self.seconds_to_wait = float(seconds_to_wait or 0.0)
