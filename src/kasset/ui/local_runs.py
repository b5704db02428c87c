"""Pure bookkeeping of `kasset dev`: a run's Materialization status from the plan's
`RunState`, and Asset statuses folded from the runtime's events.

The operator writes the same statuses on the cluster; here they are rebuilt in memory so
the UI reads one model in both modes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kasset.definitions.keys import AssetKey, StepKey
from kasset.definitions.partitions import PartitionsDefinition
from kasset.errors import KassetError
from kasset.graph import AssetGraph
from kasset.naming import asset_object_name
from kasset.plan import RunState
from kasset.plan import StepPhase as PlanStepPhase
from kasset.resources import (
    MAX_STEP_DETAILS,
    AssetFailure,
    AssetGraphResource,
    AssetHealth,
    AssetResource,
    AssetRunSummary,
    AssetSpec,
    AssetStatus,
    CheckResult,
    CheckSeverity,
    LatestMaterialization,
    MaterializationStatus,
    ObjectMeta,
    PartitionsSummary,
    RunPhase,
    StepCheck,
    StepCounts,
    StepPhase,
    StepStatus,
)
from kasset.resources.base import status_metadata as metadata_summary
from kasset.ui.model import asset_partitions

__all__ = [
    "AssetBook",
    "StepExtras",
    "check_result",
    "events_in_order",
    "metadata_summary",
    "one_line",
    "run_status",
    "utc",
]

# Most pressing first, as AssetRunSummary.phase documents.
_PRESSING = (
    StepPhase.RUNNING,
    StepPhase.WAITING_RETRY,
    StepPhase.FAILED,
    StepPhase.CANCELED,
    StepPhase.SKIPPED,
    StepPhase.PENDING,
    StepPhase.SUCCEEDED,
)
_DETAIL_ORDER = {StepPhase.RUNNING: 0, StepPhase.WAITING_RETRY: 1, StepPhase.FAILED: 2}


def utc(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def one_line(text: str | None, limit: int) -> str | None:
    """The first line of a message, cut to `limit` characters (None if empty)."""
    if not text:
        return None
    line = text.strip().splitlines()[0] if text.strip() else ""
    return (line[: limit - 1] + "…" if len(line) > limit else line) or None


@dataclass
class StepExtras:
    """What the runtime reported about a step, beyond what the plan tracks."""

    first_start: float | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    checks: dict[str, StepCheck] = field(default_factory=dict)


def _phase(state: RunState, key: StepKey) -> StepPhase:
    step = state.steps[key]
    if step.phase is PlanStepPhase.PENDING and step.retry_at is not None and step.attempts:
        return StepPhase.WAITING_RETRY
    return StepPhase(step.phase.value)


def run_status(
    state: RunState,
    graph: AssetGraph,
    extras: Mapping[StepKey, StepExtras],
    *,
    start: float | None,
    end: float | None,
) -> MaterializationStatus:
    """The Materialization status of a local run, shaped as the operator shapes it."""
    phases = {key: _phase(state, key) for key in state.steps}
    counts = StepCounts(total=len(phases))
    for phase in phases.values():
        name = "waiting_retry" if phase is StepPhase.WAITING_RETRY else phase.value.lower()
        setattr(counts, name, getattr(counts, name) + 1)
    details: list[StepStatus] = []
    for key, phase in phases.items():
        step = state.steps[key]
        if phase is StepPhase.PENDING and not step.attempts:
            continue
        extra = extras.get(key) or StepExtras()
        details.append(
            StepStatus(
                key=key.to_string(),
                phase=phase,
                attempts=min(step.attempts, 101),
                start_time=utc(extra.first_start or step.started_at),
                end_time=utc(step.ended_at)
                if phase not in (StepPhase.RUNNING, StepPhase.WAITING_RETRY)
                else None,
                next_attempt_time=utc(step.retry_at) if phase is StepPhase.WAITING_RETRY else None,
                message=one_line(step.message, 512),
                metadata=extra.metadata,
                checks=list(extra.checks.values())[:64],
            )
        )
    never = datetime.max.replace(tzinfo=UTC)
    details.sort(key=lambda s: (_DETAIL_ORDER.get(s.phase, 3), s.start_time or never))
    omitted = max(0, len(details) - MAX_STEP_DETAILS)
    return MaterializationStatus(
        phase=RunPhase(state.phase.value),
        start_time=utc(start),
        completion_time=utc(end),
        message=state.message[:4096] or None,
        counts=counts,
        assets=_asset_summaries(phases, graph),
        steps=details[:MAX_STEP_DETAILS],
        omitted_steps=omitted,
    )


def _asset_summaries(
    phases: Mapping[StepKey, StepPhase], graph: AssetGraph
) -> list[AssetRunSummary]:
    by_asset: dict[AssetKey, dict[StepKey, StepPhase]] = {}
    for key, phase in phases.items():
        by_asset.setdefault(key.asset, {})[key] = phase
    summaries = []
    for asset, steps in by_asset.items():
        present = set(steps.values())
        if present == {StepPhase.PENDING}:
            continue
        phase = next(p for p in _PRESSING if p in present)
        definition = graph.nodes[asset].partitions if asset in graph.nodes else None
        ranges: dict[str, str | None] = {}
        for name, wanted in (
            ("succeeded", StepPhase.SUCCEEDED),
            ("failed", StepPhase.FAILED),
            ("skipped", StepPhase.SKIPPED),
            ("canceled", StepPhase.CANCELED),
        ):
            keys = [k.partition for k, p in steps.items() if p is wanted and k.partition]
            ranges[name] = _ranges(definition, keys) if keys else None
        summaries.append(AssetRunSummary(asset=asset.to_string(), phase=phase, **ranges))
    return summaries


def _ranges(definition: PartitionsDefinition | None, keys: list[str]) -> str:
    if definition is None:
        return ",".join(keys)
    try:
        return definition.to_ranges(keys)
    except KassetError:
        return ",".join(keys)


class AssetBook:
    """The Asset objects of one graph, updated from materializations, checks and
    failures. Not thread-safe: the backend holds its lock around calls."""

    def __init__(self, resource: AssetGraphResource, graph: AssetGraph) -> None:
        self.graph = graph
        self.namespace = resource.metadata.namespace or "default"
        self.graph_name = resource.metadata.name or ""
        self.assets: dict[str, AssetResource] = {}
        self._done: dict[str, set[str]] = {}
        self._failed: dict[str, set[str]] = {}
        for entry in resource.spec.assets:
            name = asset_object_name(self.graph_name, entry.key)
            self.assets[entry.key] = AssetResource(
                metadata=ObjectMeta(
                    name=name, namespace=self.namespace, labels={"kasset.io/graph": self.graph_name}
                ),
                spec=AssetSpec(
                    graph=self.graph_name,
                    key=entry.key,
                    group=entry.group,
                    deps=entry.deps,
                    description=entry.description,
                    tags=entry.tags,
                    code_version=entry.code_version,
                    partitions=asset_partitions(resource, entry),
                    checks=entry.checks,
                ),
                status=AssetStatus(),
            )

    def by_name(self) -> dict[str, AssetResource]:
        return {a.metadata.name or "": a for a in self.assets.values()}

    def materialized(
        self,
        key: str,
        run: str,
        partition: str | None,
        time: datetime,
        metadata: dict[str, str],
        data_version: str | None,
    ) -> None:
        asset = self.assets.get(key)
        if asset is None:
            return
        status = _status(asset)
        status.latest = LatestMaterialization(
            run=run, partition=partition, time=time, data_version=data_version, metadata=metadata
        )
        if partition is not None:
            self._done.setdefault(key, set()).add(partition)
            self._failed.setdefault(key, set()).discard(partition)
        elif status.last_failure is not None and status.last_failure.time <= time:
            status.last_failure = None
        self._write(asset, status)

    def failed(
        self, key: str, run: str, partition: str | None, time: datetime, message: str | None
    ) -> None:
        asset = self.assets.get(key)
        if asset is None:
            return
        status = _status(asset)
        status.last_failure = AssetFailure(
            run=run, partition=partition, time=time, message=(message or "")[:4096] or None
        )
        if partition is not None:
            self._failed.setdefault(key, set()).add(partition)
        self._write(asset, status)

    def checked(self, key: str, result: CheckResult) -> None:
        asset = self.assets.get(key)
        if asset is None:
            return
        status = _status(asset)
        status.checks = [c for c in status.checks if c.name != result.name] + [result]
        self._write(asset, status)

    def _write(self, asset: AssetResource, status: AssetStatus) -> None:
        definition = self.graph.nodes[AssetKey.from_string(asset.spec.key)].partitions
        if definition is not None:
            done = self._done.get(asset.spec.key, set())
            failed = self._failed.get(asset.spec.key, set())
            status.partitions = PartitionsSummary(
                materialized=_ranges(definition, sorted(done, key=_safe_index(definition))),
                failed=_ranges(definition, sorted(failed, key=_safe_index(definition))),
                materialized_count=len(done),
                total=len(definition.keys()),
            )
        asset.status = status
        self.refresh_health()

    def refresh_health(self) -> None:
        """Failed, Missing, Stale (a parent was materialized after it) or Fresh."""
        for key in self.graph.order:
            asset = self.assets.get(key.to_string())
            if asset is None:
                continue
            status = _status(asset)
            latest = status.latest
            if self._is_failed(key.to_string(), status):
                health = AssetHealth.FAILED
            elif latest is None:
                health = AssetHealth.MISSING
            elif any(
                _newer(self.assets.get(p.to_string()), latest.time) for p in self.graph.parents(key)
            ):
                health = AssetHealth.STALE
            else:
                health = AssetHealth.FRESH
            if status.health is not health:
                status.health = health
                asset.status = status

    def _is_failed(self, key: str, status: AssetStatus) -> bool:
        if self._failed.get(key):
            return True
        failure = status.last_failure
        return (
            failure is not None
            and failure.partition is None
            and (status.latest is None or status.latest.time < failure.time)
        )


def _status(asset: AssetResource) -> AssetStatus:
    # A copy: readers on other threads keep the object they were handed.
    return asset.status.model_copy() if asset.status else AssetStatus()


def _newer(asset: AssetResource | None, than: datetime) -> bool:
    latest = asset.status.latest if asset and asset.status else None
    return latest is not None and latest.time > than


def _safe_index(definition: PartitionsDefinition) -> Any:
    def index(key: str) -> int:
        try:
            return definition.index_of(key)
        except KassetError:
            return -1

    return index


def check_result(
    payload: Mapping[str, Any], run: str, partition: str | None, time: datetime
) -> CheckResult | None:
    """The CheckResult of an ASSET_CHECK_EVALUATED payload (None if malformed)."""
    check = payload.get("check") or {}
    if not isinstance(check, Mapping) or not check.get("name"):
        return None
    severity = CheckSeverity.WARN if check.get("severity") == "WARN" else CheckSeverity.ERROR
    return CheckResult(
        name=str(check["name"]),
        passed=bool(check.get("passed")),
        severity=severity,
        time=time,
        run=run,
        partition=partition,
        metadata=metadata_summary(payload.get("metadata")),
    )


def events_in_order(events: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(events, key=lambda e: str(e.get("timestamp", "")))
