"""The Materialization resource: one run of a selection of a graph's assets and partitions.

Its status must stay far below etcd's object size limit for runs of up to MAX_STEPS steps, so
it is compact: per asset, the partitions in each finished phase as range strings; per step,
details only for the (at most MAX_STEP_DETAILS) steps that are active or did not succeed.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, ConfigDict, Field

from kasset.resources.asset import CheckSeverity
from kasset.resources.base import (
    API_VERSION,
    AssetKeyStr,
    KassetModel,
    KassetNameStr,
    KindInfo,
    MetadataMap,
    NameStr,
    PrinterColumn,
    StepKeyStr,
    cel,
    list_atomic,
    list_map,
)
from kasset.resources.meta import Condition, ObjectMeta
from kasset.resources.partitions import PartitionRangesStr, PartitionSelection

__all__ = [
    "MATERIALIZATION_KIND",
    "MAX_STEPS",
    "MAX_STEP_DETAILS",
    "AssetRunSummary",
    "MaterializationResource",
    "MaterializationSpec",
    "MaterializationStatus",
    "RunPhase",
    "StepCheck",
    "StepCounts",
    "StepPhase",
    "StepStatus",
    "materialization_body",
]

#: Most steps one run may plan; planning more is rejected.
MAX_STEPS = 10_000
#: Most entries of status.steps. Running steps always fit (maxParallel <= 1000).
MAX_STEP_DETAILS = 1_000


class RunPhase(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELED = "Canceled"

    @property
    def finished(self) -> bool:
        """Succeeded, Failed or Canceled: the run will not change any more."""
        return self in (RunPhase.SUCCEEDED, RunPhase.FAILED, RunPhase.CANCELED)


class StepPhase(StrEnum):
    PENDING = "Pending"
    WAITING_RETRY = "WaitingRetry"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SKIPPED = "Skipped"
    CANCELED = "Canceled"


class MaterializationSpec(KassetModel):
    """Which assets and partitions of a graph to materialize, and how."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            (
                "has(self.partitions) == has(oldSelf.partitions)"
                " && (!has(self.partitions) || self.partitions == oldSelf.partitions)",
                "partitions is immutable; create a new Materialization",
                ".partitions",
            ),
            (
                "!has(oldSelf.cancel) || !oldSelf.cancel || (has(self.cancel) && self.cancel)",
                "a canceled Materialization cannot be resumed; create a new one",
                ".cancel",
            ),
        )
    )

    graph: KassetNameStr = Field(
        description="AssetGraph in the same namespace.",
        json_schema_extra=cel(("self == oldSelf", "graph is immutable")),
    )
    selection: str = Field(
        "*",
        description="Assets to materialize, e.g. '*', 'raw/orders+' or 'group:raw'.",
        min_length=1,
        max_length=4096,
        json_schema_extra=cel(("self == oldSelf", "selection is immutable")),
    )
    partitions: PartitionSelection | None = Field(
        None, description="Partitions of the partitioned assets to materialize."
    )
    max_parallel: int | None = Field(
        None,
        description="Steps running at once; unset means the graph's maxParallel.",
        ge=1,
        le=1000,
    )
    cancel: bool = Field(False, description="Set to true to stop the run; cannot be undone.")
    ttl_seconds_after_finished: int | None = Field(
        None, description="Delete the object this long after it finished.", ge=0, le=31_536_000
    )
    launched_by: str | None = Field(
        None,
        description="Who launched it: kubectl, cli, ui:<user>, schedule:<name>, ...",
        max_length=256,
    )


class StepCounts(KassetModel):
    """Number of steps in each phase; they add up to total."""

    total: int = Field(0, description="Planned steps.", ge=0, le=MAX_STEPS)
    pending: int = Field(0, description="Steps not started.", ge=0, le=MAX_STEPS)
    waiting_retry: int = Field(0, description="Failed steps waiting to retry.", ge=0, le=MAX_STEPS)
    running: int = Field(0, description="Steps running.", ge=0, le=MAX_STEPS)
    succeeded: int = Field(0, description="Steps that succeeded.", ge=0, le=MAX_STEPS)
    failed: int = Field(0, description="Steps that failed for good.", ge=0, le=MAX_STEPS)
    skipped: int = Field(0, description="Steps skipped (an upstream failed).", ge=0, le=MAX_STEPS)
    canceled: int = Field(0, description="Steps canceled.", ge=0, le=MAX_STEPS)


class AssetRunSummary(KassetModel):
    """Where the steps of one asset stand. For partitioned assets, the partitions that
    reached each finished phase are given as ranges such as a..c,f; running and retrying
    steps are in status.steps, the rest are pending."""

    asset: AssetKeyStr = Field(description="Asset key.")
    phase: StepPhase = Field(
        description="For an unpartitioned asset, its step's phase; for a partitioned one,"
        " the most pressing of its steps' phases (Running, WaitingRetry, Failed, Canceled,"
        " Skipped, Pending, Succeeded, in that order)."
    )
    succeeded: PartitionRangesStr | None = Field(None, description="Partitions that succeeded.")
    failed: PartitionRangesStr | None = Field(None, description="Partitions that failed.")
    skipped: PartitionRangesStr | None = Field(None, description="Partitions skipped.")
    canceled: PartitionRangesStr | None = Field(None, description="Partitions canceled.")


class StepCheck(KassetModel):
    """The result of a check evaluated by a step."""

    name: NameStr = Field(description="Check name.")
    passed: bool = Field(description="Whether it passed.")
    severity: CheckSeverity = Field(CheckSeverity.ERROR, description="ERROR or WARN.")


class StepStatus(KassetModel):
    """Details of one step: an asset, or one partition of it.

    The pod of attempt n is named by kasset.naming.step_pod_name(run, key, n); it is not stored.
    """

    key: StepKeyStr = Field(description="Step key, e.g. raw/orders[2024-01-01].")
    phase: StepPhase = Field(description="Phase of the step.")
    attempts: int = Field(0, description="Attempts started so far.", ge=0, le=111)
    infra_retries: int = Field(
        0,
        description="Attempts lost to the infrastructure (the container could not start, the "
        "pod was evicted or deleted, its node went away), retried without counting against "
        "the retry policy.",
        ge=0,
        le=10,
    )
    start_time: AwareDatetime | None = Field(None, description="When the first attempt started.")
    end_time: AwareDatetime | None = Field(None, description="When the step finished.")
    next_attempt_time: AwareDatetime | None = Field(
        None, description="When a step waiting to retry starts its next attempt."
    )
    message: str | None = Field(
        None,
        description="Why it failed or was skipped: one line; the traceback is in the logs.",
        max_length=512,
    )
    metadata: MetadataMap = Field(default_factory=dict, description="Summary of its metadata.")
    checks: list[StepCheck] = Field(
        default_factory=list,
        description="Checks evaluated by the step.",
        max_length=64,
        json_schema_extra=list_map("name"),
    )


class MaterializationStatus(KassetModel):
    """Progress of the run, written by the operator."""

    phase: RunPhase = Field(
        RunPhase.PENDING, description="Pending, Running, Succeeded, Failed or Canceled."
    )
    observed_generation: int | None = Field(
        None, description="The metadata.generation this status describes.", ge=0
    )
    start_time: AwareDatetime | None = Field(None, description="When the run started.")
    completion_time: AwareDatetime | None = Field(None, description="When the run finished.")
    message: str | None = Field(None, description="Summary of the outcome.", max_length=4096)
    counts: StepCounts = Field(default_factory=StepCounts, description="Steps per phase.")
    # The large status lists are atomic: the operator replaces them whole, and map lists
    # would add a managedFields entry per element, about doubling the stored size.
    assets: list[AssetRunSummary] = Field(
        default_factory=list,
        description="Per selected asset whose steps have started: where they stand.",
        max_length=MAX_STEPS,
        json_schema_extra=list_atomic(),
    )
    steps: list[StepStatus] = Field(
        default_factory=list,
        description="Details of running and retrying steps, then of failed ones, then of the"
        " most recently finished ones, up to 1000 entries.",
        max_length=MAX_STEP_DETAILS,
        json_schema_extra=list_atomic(),
    )
    omitted_steps: int = Field(
        0, description="Steps left out of steps to bound the object size.", ge=0, le=MAX_STEPS
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Conditions of the run.",
        max_length=16,
        json_schema_extra=list_map("type"),
    )


class MaterializationResource(KassetModel):
    """A Materialization object as stored by the API server."""

    model_config = ConfigDict(title="Materialization")

    api_version: Literal["kasset.io/v1alpha1"] = Field(
        "kasset.io/v1alpha1", description="API version."
    )
    kind: Literal["Materialization"] = Field("Materialization", description="Kind.")
    metadata: ObjectMeta = Field(default_factory=ObjectMeta, description="Standard metadata.")
    spec: MaterializationSpec = Field(description="What to materialize.")
    status: MaterializationStatus | None = Field(None, description="Written by the operator.")


MATERIALIZATION_KIND = KindInfo(
    kind="Materialization",
    plural="materializations",
    model=MaterializationResource,
    short_names=("mat",),
    columns=(
        PrinterColumn("Graph", "string", ".spec.graph", "AssetGraph of the run."),
        PrinterColumn("Phase", "string", ".status.phase", "Phase of the run."),
        PrinterColumn("Succeeded", "integer", ".status.counts.succeeded", "Steps succeeded."),
        PrinterColumn("Failed", "integer", ".status.counts.failed", "Steps failed."),
        PrinterColumn("Total", "integer", ".status.counts.total", "Steps planned."),
        PrinterColumn("Age", "date", ".metadata.creationTimestamp", "Time since creation."),
        PrinterColumn("Message", "string", ".status.message", "Outcome.", priority=1),
    ),
    root_rules=(
        (
            "self.metadata.name.size() <= 63",
            "Materialization names have at most 63 characters: they are used as label values",
        ),
    ),
)


def materialization_body(
    graph: str,
    *,
    launched_by: str,
    selection: str = "*",
    partitions: Mapping[str, Any] | None = None,
    max_parallel: int | None = None,
    name: str | None = None,
    generate_name: str | None = None,
    namespace: str | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The Materialization a launch creates, as sent to the API server: the one builder
    behind `kasset materialize`, the schedule loop and the UI (only what is set is sent).

    >>> materialization_body("pop", launched_by="cli", generate_name="pop-")["metadata"]
    {'generateName': 'pop-'}
    """
    metadata: dict[str, Any] = {}
    for key, value in (
        ("name", name),
        ("generateName", generate_name),
        ("namespace", namespace),
        ("labels", dict(labels) if labels else None),
        ("annotations", dict(annotations) if annotations else None),
    ):
        if value is not None:
            metadata[key] = value
    spec: dict[str, Any] = {"graph": graph, "selection": selection, "launchedBy": launched_by}
    if partitions:
        spec["partitions"] = dict(partitions)
    if max_parallel:
        spec["maxParallel"] = max_parallel
    return {
        "apiVersion": API_VERSION,
        "kind": MATERIALIZATION_KIND.kind,
        "metadata": metadata,
        "spec": spec,
    }
