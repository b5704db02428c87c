"""The Asset resource: one per asset of a graph, so that `kubectl get assets` is the catalog.

The operator creates and owns these objects; the spec is copied from the AssetGraph entry,
the status records what materializations and checks left behind.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, ConfigDict, Field

from kasset.resources.assetgraph import CheckSpec, Tags
from kasset.resources.base import (
    AssetKeyStr,
    DescriptionStr,
    KassetModel,
    KassetNameStr,
    KindInfo,
    MetadataMap,
    MetadataTypesMap,
    NameStr,
    PartitionKeyStr,
    PrinterColumn,
    list_map,
    list_set,
)
from kasset.resources.meta import ObjectMeta
from kasset.resources.partitions import PartitionRangesStr, PartitionsDefinition

__all__ = [
    "ASSET_KIND",
    "AssetFailure",
    "AssetHealth",
    "AssetResource",
    "AssetSpec",
    "AssetStatus",
    "CheckResult",
    "CheckSeverity",
    "LatestMaterialization",
    "PartitionsSummary",
]


class AssetHealth(StrEnum):
    FRESH = "Fresh"
    STALE = "Stale"
    FAILED = "Failed"
    MISSING = "Missing"


class CheckSeverity(StrEnum):
    ERROR = "ERROR"
    WARN = "WARN"


class AssetSpec(KassetModel):
    """The asset as declared in its graph (copied from the AssetGraph by the operator)."""

    graph: KassetNameStr = Field(description="The AssetGraph this asset belongs to.")
    key: AssetKeyStr = Field(description="Asset key, e.g. raw/orders.")
    group: NameStr = Field("default", description="Asset group.")
    deps: list[AssetKeyStr] = Field(
        default_factory=list,
        description="Keys of upstream assets.",
        max_length=20_000,
        json_schema_extra=list_set(),
    )
    description: DescriptionStr | None = Field(None, description="What the asset holds.")
    tags: Tags = Field(default_factory=dict, description="Free-form tags.")
    code_version: str | None = Field(None, description="Version of its code.", max_length=128)
    partitions: PartitionsDefinition | None = Field(
        None, description="How the asset is partitioned; unset means not partitioned."
    )
    checks: list[CheckSpec] = Field(
        default_factory=list,
        description="Checks of the asset.",
        max_length=64,
        json_schema_extra=list_map("name"),
    )
    owners: list[Annotated[str, Field(max_length=256)]] = Field(
        default_factory=list, description="Owners (e-mail or team:NAME).", max_length=16
    )
    kinds: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, description="Kinds (python, snowflake, ...).", max_length=3
    )
    metadata: MetadataMap = Field(default_factory=dict, description="Definition metadata.")
    metadata_types: MetadataTypesMap = Field(
        default_factory=dict, description="The kind of each definition metadata entry."
    )
    pool: NameStr | None = Field(None, description="Concurrency pool (recorded).")


class LatestMaterialization(KassetModel):
    """The most recent successful materialization."""

    run: KassetNameStr = Field(description="Materialization that produced it.")
    partition: PartitionKeyStr | None = Field(None, description="Partition, if partitioned.")
    time: AwareDatetime = Field(description="When it was materialized.")
    data_version: str | None = Field(None, description="Data version reported.", max_length=256)
    metadata: MetadataMap = Field(
        default_factory=dict, description="Summary of the metadata reported (short strings)."
    )


class AssetFailure(KassetModel):
    """The most recent failed step of this asset."""

    run: KassetNameStr = Field(description="Materialization the step belonged to.")
    partition: PartitionKeyStr | None = Field(None, description="Partition, if partitioned.")
    time: AwareDatetime = Field(description="When the step failed.")
    message: str | None = Field(None, description="Why it failed.", max_length=4096)


class PartitionsSummary(KassetModel):
    """Which partitions exist in storage, as compact ranges such as a..c,f."""

    materialized: PartitionRangesStr = Field("", description="Materialized partitions.")
    failed: PartitionRangesStr = Field("", description="Partitions whose last step failed.")
    materialized_count: int = Field(0, description="Number of materialized partitions.", ge=0)
    total: int = Field(0, description="Number of partitions defined so far.", ge=0)


class CheckResult(KassetModel):
    """The latest result of one check."""

    name: NameStr = Field(description="Check name.")
    passed: bool = Field(description="Whether the check passed.")
    severity: CheckSeverity = Field(CheckSeverity.ERROR, description="ERROR or WARN.")
    time: AwareDatetime | None = Field(None, description="When it was evaluated.")
    run: KassetNameStr | None = Field(None, description="Materialization that evaluated it.")
    partition: PartitionKeyStr | None = Field(None, description="Partition it evaluated.")
    metadata: MetadataMap = Field(default_factory=dict, description="Summary of its metadata.")


class AssetStatus(KassetModel):
    """What the asset's materializations and checks left behind."""

    health: AssetHealth = Field(
        AssetHealth.MISSING,
        description="Fresh, Stale (upstream or code changed since), Failed or Missing.",
    )
    latest: LatestMaterialization | None = Field(None, description="Latest materialization.")
    last_failure: AssetFailure | None = Field(None, description="Latest failed step.")
    partitions: PartitionsSummary | None = Field(
        None, description="Partition coverage (partitioned assets only)."
    )
    checks: list[CheckResult] = Field(
        default_factory=list,
        description="Latest result of each check.",
        max_length=64,
        json_schema_extra=list_map("name"),
    )


class AssetResource(KassetModel):
    """An Asset object as stored by the API server."""

    model_config = ConfigDict(title="Asset")

    api_version: Literal["kasset.io/v1alpha1"] = Field(
        "kasset.io/v1alpha1", description="API version."
    )
    kind: Literal["Asset"] = Field("Asset", description="Kind.")
    metadata: ObjectMeta = Field(default_factory=ObjectMeta, description="Standard metadata.")
    spec: AssetSpec = Field(description="The asset as declared.")
    status: AssetStatus | None = Field(None, description="Written by the operator.")


ASSET_KIND = KindInfo(
    kind="Asset",
    plural="assets",
    model=AssetResource,
    # `assets` is a common plural (other operators define one too): `kubectl get kas` is ours.
    short_names=("kas",),
    columns=(
        PrinterColumn("Key", "string", ".spec.key", "Asset key."),
        PrinterColumn("Graph", "string", ".spec.graph", "AssetGraph of the asset."),
        PrinterColumn("Group", "string", ".spec.group", "Asset group."),
        PrinterColumn("Health", "string", ".status.health", "Fresh, Stale, Failed or Missing."),
        PrinterColumn(
            "Last Materialized", "date", ".status.latest.time", "Latest materialization."
        ),
        PrinterColumn("Age", "date", ".metadata.creationTimestamp", "Time since creation."),
    ),
)
