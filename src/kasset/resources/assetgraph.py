"""The AssetGraph resource: a compiled Definitions object, what the operator runs from.

`kasset compile` writes it; the operator validates it, creates one Asset per entry of
``spec.assets`` and runs its schedules.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, ConfigDict, Field

from kasset.resources.base import (
    AssetKeyStr,
    DescriptionStr,
    FreeFormJson,
    KassetModel,
    KassetNameStr,
    KindInfo,
    MetadataMap,
    MetadataTypesMap,
    NameStr,
    PrinterColumn,
    ResourceNameStr,
    cel,
    list_atomic,
    list_map,
    list_set,
)
from kasset.resources.execution import (
    MAX_TIMEOUT_SECONDS,
    ExecutionDefaults,
    NodeSelector,
    ResourceRequirements,
    RetryPolicy,
    Toleration,
)
from kasset.resources.meta import Condition, ObjectMeta
from kasset.resources.partitions import (
    NamedPartitionsDefinition,
    PartitionMapping,
    PartitionsDefinition,
)

__all__ = [
    "ASSET_GRAPH_KIND",
    "MAX_ASSETS",
    "AssetGraphResource",
    "AssetGraphSpec",
    "AssetGraphStatus",
    "CheckSpec",
    "CodeLocation",
    "GraphAsset",
    "ImagePullPolicy",
    "Schedule",
    "ScheduleStatus",
    "Storage",
    "StorageVolume",
]

MAX_ASSETS = 20_000
_PYTHON_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
CRON_FIELD = r"[0-9A-Za-z*/,?#-]+"
CRON_MACRO = r"@(yearly|annually|monthly|weekly|daily|midnight|hourly)"
CRON_PATTERN = rf"^({CRON_MACRO}|{CRON_FIELD}(\s+{CRON_FIELD}){{4}})$"
Tags = Annotated[dict[str, Annotated[str, Field(max_length=256)]], Field(max_length=64)]
ImageStr = Annotated[str, Field(min_length=1, max_length=512)]
TimezoneStr = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_+/-]*$", max_length=64)]


def _is_empty(value: list[object] | dict[str, object]) -> bool:
    # Large graphs are stored near the size limit: absent and empty mean the same here.
    return not value


class ImagePullPolicy(StrEnum):
    ALWAYS = "Always"
    IF_NOT_PRESENT = "IfNotPresent"
    NEVER = "Never"


class CodeLocation(KassetModel):
    """Where step pods find the Definitions: module:attribute inside the image."""

    module: str = Field(
        description="Importable module, e.g. my_project.definitions.",
        pattern=rf"^{_PYTHON_NAME}(\.{_PYTHON_NAME})*$",
        max_length=512,
    )
    attribute: str = Field(
        "defs",
        description="Module attribute holding the Definitions.",
        pattern=rf"^{_PYTHON_NAME}$",
        max_length=256,
    )


class StorageVolume(KassetModel):
    """A PersistentVolumeClaim mounted into every step pod, shared by all steps."""

    claim_name: ResourceNameStr = Field(description="Name of the PersistentVolumeClaim.")
    mount_path: str = Field(
        "/var/lib/kasset/storage",
        description="Absolute path the claim is mounted at.",
        pattern=r"^/",
        max_length=1024,
    )


class Storage(KassetModel):
    """Where IO managers keep asset values: any fsspec URL."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            (
                "!has(self.volume) || !self.uri.startsWith('file://')"
                " || self.uri.substring(7).startsWith(self.volume.mountPath)",
                "a file:// uri must lie under volume.mountPath, or steps would not share it",
            )
        )
    )

    uri: str = Field(
        "file:///var/lib/kasset/storage",
        description="Root URL of stored values, e.g. file:///var/lib/kasset/storage or"
        " s3://bucket/prefix.",
        pattern=r"^[A-Za-z][A-Za-z0-9+.-]*://",
        max_length=2048,
    )
    volume: StorageVolume | None = Field(
        None, description="Volume to mount for a file:// uri shared by all steps."
    )
    secret_name: ResourceNameStr | None = Field(
        None, description="Secret whose keys become environment variables (e.g. fsspec creds)."
    )


class CheckSpec(KassetModel):
    """An asset check that runs right after its asset in the same step."""

    name: NameStr = Field(description="Check name, unique per asset.")
    blocking: bool = Field(
        False, description="When the check fails, the asset's downstream steps are skipped."
    )
    description: DescriptionStr | None = Field(None, description="What the check verifies.")


class GraphAsset(KassetModel):
    """One asset of the graph and how its steps run; unset fields inherit spec.defaults."""

    key: AssetKeyStr = Field(description="Asset key, path parts joined by '/', e.g. raw/orders.")
    deps: list[AssetKeyStr] = Field(
        default_factory=list,
        description="Keys of every upstream asset, whether its value is loaded or not.",
        max_length=MAX_ASSETS,
        json_schema_extra=list_set(),
        exclude_if=_is_empty,
    )
    group: NameStr = Field("default", description="Asset group, e.g. raw.")
    tags: Tags = Field(
        default_factory=dict, description="Free-form tags for selection.", exclude_if=_is_empty
    )
    description: DescriptionStr | None = Field(None, description="What the asset holds.")
    code_version: str | None = Field(
        None, description="Version of the asset's code; a change makes it stale.", max_length=128
    )
    partitions: NameStr | None = Field(
        None,
        description="Name of the entry of spec.partitionsDefinitions partitioning the asset;"
        " unset means not partitioned.",
    )
    partition_mappings: list[PartitionMapping] = Field(
        default_factory=list,
        description="Partition mappings of some deps; the others use the default for the two"
        " kinds (time windows: timeWindow; otherwise identity).",
        max_length=256,
        json_schema_extra=list_map("dep"),
        exclude_if=_is_empty,
    )
    checks: list[CheckSpec] = Field(
        default_factory=list,
        description="Checks of the asset.",
        max_length=64,
        json_schema_extra=list_map("name"),
        exclude_if=_is_empty,
    )
    resources: ResourceRequirements | None = Field(
        None, description="Overrides defaults.resources."
    )
    retry_policy: RetryPolicy | None = Field(None, description="Overrides defaults.retryPolicy.")
    timeout_seconds: int | None = Field(
        None, description="Overrides defaults.timeoutSeconds.", ge=1, le=MAX_TIMEOUT_SECONDS
    )
    image: ImageStr | None = Field(None, description="Overrides spec.image.")
    node_selector: NodeSelector | None = Field(None, description="Overrides defaults.nodeSelector.")
    tolerations: list[Toleration] | None = Field(
        None, description="Overrides defaults.tolerations.", max_length=32
    )
    owners: list[Annotated[str, Field(max_length=256)]] = Field(
        default_factory=list,
        description="Owners: e-mail addresses or team:NAME.",
        max_length=16,
        exclude_if=_is_empty,
    )
    kinds: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list,
        description="Kinds shown in the catalog (python, snowflake, ...).",
        max_length=3,
        exclude_if=_is_empty,
    )
    metadata: MetadataMap = Field(
        default_factory=dict,
        description="Definition metadata (@asset(metadata=...)), shortened.",
        exclude_if=_is_empty,
    )
    metadata_types: MetadataTypesMap = Field(
        default_factory=dict,
        description="The kind of each metadata entry (url, md, int, ...).",
        exclude_if=_is_empty,
    )
    pool: NameStr | None = Field(None, description="Concurrency pool (recorded, not enforced).")
    config_schema: FreeFormJson | None = Field(
        None, description="JSON schema of the asset's Config: what spec.runConfig may give it."
    )


class Job(KassetModel):
    """A named selection with its run config and tags (define_asset_job)."""

    name: NameStr = Field(description="Job name, unique in the graph.")
    selection: str = Field(
        description="The job's assets (selection syntax).", min_length=1, max_length=4096
    )
    description: DescriptionStr | None = Field(None, description="What the job is for.")
    tags: Tags = Field(default_factory=dict, description="Tags of its runs.", exclude_if=_is_empty)
    run_config: FreeFormJson | None = Field(None, description="Run config of its runs.")


class Schedule(KassetModel):
    """Creates a Materialization of a selection at every cron tick."""

    name: NameStr = Field(description="Schedule name, unique in the graph.")
    cron: str = Field(
        description="Five-field cron expression or a macro such as @daily.",
        pattern=CRON_PATTERN,
        max_length=128,
    )
    timezone: TimezoneStr = Field("UTC", description="IANA timezone the cron runs in.")
    selection: str = Field(
        "*", description="Assets to materialize (selection syntax).", max_length=4096
    )
    job: NameStr | None = Field(None, description="The job it launches (its selection is above).")


class AssetGraphSpec(KassetModel):
    """A compiled asset graph: its image, code location, storage, assets and schedules."""

    image: ImageStr = Field(description="Image holding the code, e.g. registry/proj:1.2.3.")
    image_pull_policy: ImagePullPolicy = Field(
        ImagePullPolicy.IF_NOT_PRESENT, description="Always, IfNotPresent or Never."
    )
    code_location: CodeLocation = Field(description="Where the Definitions are in the image.")
    storage: Storage = Field(default_factory=Storage, description="Where asset values are kept.")
    defaults: ExecutionDefaults = Field(
        default_factory=ExecutionDefaults, description="How steps run unless an asset overrides it."
    )
    max_parallel: int = Field(
        16, description="Steps a run executes at once unless it sets its own.", ge=1, le=1000
    )
    history_limit: int = Field(
        50, description="Finished Materializations of this graph to keep.", ge=0, le=1000
    )
    partitions_definitions: list[NamedPartitionsDefinition] = Field(
        default_factory=list,
        description="Partitions definitions, shared by name by the assets they partition.",
        max_length=64,
        json_schema_extra=list_map("name"),
    )
    assets: list[GraphAsset] = Field(
        default_factory=list,
        description="The assets; keys must be unique (checked by the operator).",
        max_length=MAX_ASSETS,
        # Atomic, not a map by key: managedFields of a map list enumerate every entry and
        # field, which would about double the stored size of a large graph.
        json_schema_extra=list_atomic(),
    )
    schedules: list[Schedule] = Field(
        default_factory=list,
        description="Schedules, unique by name.",
        max_length=100,
        json_schema_extra=list_map("name"),
    )
    jobs: list[Job] = Field(
        default_factory=list,
        description="Jobs, unique by name: kasset materialize GRAPH --job NAME.",
        max_length=100,
        json_schema_extra=list_map("name"),
        exclude_if=_is_empty,
    )

    def partitions_of(self, asset: GraphAsset) -> PartitionsDefinition | None:
        """The partitions definition of ``asset``, None if it is not partitioned.

        Raises KeyError when it names no entry of partitions_definitions.
        """
        if asset.partitions is None:
            return None
        for definition in self.partitions_definitions:
            if definition.name == asset.partitions:
                return PartitionsDefinition.model_validate(definition.model_dump())
        raise KeyError(f"asset {asset.key}: no partitions definition named {asset.partitions!r}")


class ScheduleStatus(KassetModel):
    """What a schedule last did and will do next."""

    name: NameStr = Field(description="Schedule name.")
    last_tick: AwareDatetime | None = Field(None, description="Last tick acted on.")
    last_run: KassetNameStr | None = Field(None, description="Materialization of that tick.")
    next_tick: AwareDatetime | None = Field(None, description="Next tick.")
    missed_ticks: int = Field(0, description="Ticks skipped while the operator was down.", ge=0)


class AssetGraphStatus(KassetModel):
    """What the operator observed about the graph."""

    observed_generation: int | None = Field(
        None, description="The metadata.generation this status describes.", ge=0
    )
    asset_count: int | None = Field(None, description="Number of assets.", ge=0)
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Ready, and Invalid with the reason (e.g. a cycle or a missing dep).",
        max_length=16,
        json_schema_extra=list_map("type"),
    )
    schedules: list[ScheduleStatus] = Field(
        default_factory=list,
        description="State of each schedule.",
        max_length=100,
        json_schema_extra=list_map("name"),
    )


class AssetGraphResource(KassetModel):
    """An AssetGraph object as stored by the API server."""

    model_config = ConfigDict(title="AssetGraph")

    api_version: Literal["kasset.io/v1alpha1"] = Field(
        "kasset.io/v1alpha1", description="API version."
    )
    kind: Literal["AssetGraph"] = Field("AssetGraph", description="Kind.")
    metadata: ObjectMeta = Field(default_factory=ObjectMeta, description="Standard metadata.")
    spec: AssetGraphSpec = Field(description="The compiled graph.")
    status: AssetGraphStatus | None = Field(None, description="Written by the operator.")


ASSET_GRAPH_KIND = KindInfo(
    kind="AssetGraph",
    plural="assetgraphs",
    model=AssetGraphResource,
    short_names=("ag",),
    columns=(
        PrinterColumn("Assets", "integer", ".status.assetCount", "Number of assets."),
        PrinterColumn(
            "Ready", "string", '.status.conditions[?(@.type=="Ready")].status', "Ready condition."
        ),
        PrinterColumn("Image", "string", ".spec.image", "Image of the code.", priority=1),
        PrinterColumn("Age", "date", ".metadata.creationTimestamp", "Time since creation."),
    ),
    root_rules=(
        (
            "self.metadata.name.size() <= 63",
            "AssetGraph names have at most 63 characters: they are used as label values",
        ),
    ),
)
