"""What pages show, computed from the resource models by pure functions: catalog rows,
run rows, an asset's history and partition grid, a run's timeline.

Templates only format these; everything here is tested without HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from kasset.definitions.keys import StepKey
from kasset.errors import KassetError
from kasset.naming import step_pod_name
from kasset.resources import (
    AssetResource,
    MaterializationResource,
    RunPhase,
    StepPhase,
    StepStatus,
)
from kasset.ui.model import partitions_of

__all__ = [
    "AssetRow",
    "HistoryEntry",
    "PartitionGrid",
    "RunRow",
    "Timeline",
    "TimelineRow",
    "asset_history",
    "asset_row",
    "duration_text",
    "partition_grid",
    "run_row",
    "search_text",
    "timeline",
]

HEALTH_ORDER = ("Failed", "Stale", "Missing", "Fresh")
_MAX_GRID = 2_000
_MAX_TIMELINE_ROWS = 500


def duration_text(seconds: float | None) -> str:
    """`0.4s`, `12s`, `3m05s`, `2h04m`.

    >>> duration_text(185)
    '3m05s'
    """
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


@dataclass(frozen=True)
class AssetRow:
    namespace: str
    name: str
    key: str
    graph: str
    group: str
    health: str
    tags: dict[str, str]
    description: str
    last_time: datetime | None
    last_run: str | None
    partitioned: bool
    partitions_text: str
    search: str


def asset_row(asset: AssetResource) -> AssetRow:
    status = asset.status
    latest = status.latest if status else None
    parts = status.partitions if status else None
    spec = asset.spec
    partitions_text = f"{parts.materialized_count}/{parts.total}" if parts and parts.total else ""
    tags = dict(spec.tags)
    return AssetRow(
        namespace=asset.metadata.namespace or "default",
        name=asset.metadata.name or "",
        key=spec.key,
        graph=spec.graph,
        group=spec.group,
        health=(status.health.value if status else "Missing"),
        tags=tags,
        description=spec.description or "",
        last_time=latest.time if latest else None,
        last_run=latest.run if latest else None,
        partitioned=spec.partitions is not None,
        partitions_text=partitions_text,
        search=search_text(asset),
    )


def search_text(asset: AssetResource) -> str:
    """What the catalog's filter box matches: key, group, graph, description and tags."""
    spec = asset.spec
    tags = " ".join(f"{k}={v}" for k, v in spec.tags.items())
    return f"{spec.key} {spec.group} {spec.graph} {spec.description or ''} {tags}".lower()


@dataclass(frozen=True)
class RunRow:
    namespace: str
    name: str
    graph: str
    phase: str
    selection: str
    partitions: str
    launched_by: str
    created: datetime | None
    start: datetime | None
    end: datetime | None
    duration: str
    succeeded: int
    failed: int
    total: int
    message: str


def _partitions_text(run: MaterializationResource) -> str:
    chosen = run.spec.partitions
    if chosen is None:
        return ""
    if chosen.range is not None:
        return f"{chosen.range.start}..{chosen.range.end}"
    keys = chosen.keys or []
    return ",".join(keys[:3]) + (f" +{len(keys) - 3}" if len(keys) > 3 else "")


def run_row(run: MaterializationResource, now: datetime) -> RunRow:
    status = run.status
    start = status.start_time if status else None
    end = status.completion_time if status else None
    seconds = ((end or now) - start).total_seconds() if start else None
    counts = status.counts if status else None
    return RunRow(
        namespace=run.metadata.namespace or "default",
        name=run.metadata.name or "",
        graph=run.spec.graph,
        phase=(status.phase.value if status else RunPhase.PENDING.value),
        selection=run.spec.selection,
        partitions=_partitions_text(run),
        launched_by=run.spec.launched_by or "",
        created=run.metadata.creation_timestamp,
        start=start,
        end=end,
        duration=duration_text(seconds),
        succeeded=counts.succeeded if counts else 0,
        failed=counts.failed if counts else 0,
        total=counts.total if counts else 0,
        message=(status.message or "") if status else "",
    )


@dataclass(frozen=True)
class HistoryEntry:
    run: str
    namespace: str
    phase: str
    time: datetime | None
    partitions: str
    metadata: dict[str, str]
    message: str
    launched_by: str


def asset_history(key: str, runs: Iterable[MaterializationResource]) -> list[HistoryEntry]:
    """The runs that touched asset `key`, newest first, with what they reported."""
    entries: list[HistoryEntry] = []
    for run in runs:
        status = run.status
        if status is None:
            continue
        summary = next((s for s in status.assets if s.asset == key), None)
        steps = [s for s in status.steps if StepKey.from_string(s.key).asset.to_string() == key]
        if summary is None and not steps:
            continue
        phase = summary.phase.value if summary else _worst(s.phase for s in steps)
        partitions = ""
        if summary is not None and summary.succeeded:
            partitions = summary.succeeded
        metadata: dict[str, str] = {}
        message = ""
        times = [t for s in steps if (t := s.end_time or s.start_time) is not None]
        for step in steps:
            metadata.update(step.metadata)
            message = message or (step.message or "")
        entries.append(
            HistoryEntry(
                run=run.metadata.name or "",
                namespace=run.metadata.namespace or "default",
                phase=phase,
                time=max(times) if times else (status.completion_time or status.start_time),
                partitions=partitions,
                metadata=metadata,
                message=message,
                launched_by=run.spec.launched_by or "",
            )
        )
    return entries


_PRESSING = (
    StepPhase.RUNNING,
    StepPhase.WAITING_RETRY,
    StepPhase.FAILED,
    StepPhase.CANCELED,
    StepPhase.SKIPPED,
    StepPhase.PENDING,
    StepPhase.SUCCEEDED,
)


def _worst(phases: Iterable[StepPhase]) -> str:
    present = set(phases)
    return next((p.value for p in _PRESSING if p in present), StepPhase.PENDING.value)


@dataclass(frozen=True)
class PartitionGrid:
    cells: list[tuple[str, str]]  # (key, materialized | failed | missing)
    counts: dict[str, int]
    hidden: int
    first: str
    last: str


def partition_grid(asset: AssetResource, now: datetime) -> PartitionGrid | None:
    """Each partition of a partitioned asset with its state, the newest `_MAX_GRID`."""
    definition = partitions_of(asset.spec.partitions)
    if definition is None:
        return None
    keys = definition.keys(now)
    summary = asset.status.partitions if asset.status else None
    try:
        done = set(definition.from_ranges(summary.materialized)) if summary else set()
        failed = set(definition.from_ranges(summary.failed)) if summary else set()
    except KassetError:
        done, failed = set(), set()
    hidden = max(0, len(keys) - _MAX_GRID)
    shown = keys[hidden:]
    cells = [
        (k, "failed" if k in failed else "materialized" if k in done else "missing") for k in shown
    ]
    counts = {"materialized": 0, "failed": 0, "missing": 0}
    for k in keys:
        counts["failed" if k in failed else "materialized" if k in done else "missing"] += 1
    return PartitionGrid(cells, counts, hidden, keys[0] if keys else "", keys[-1] if keys else "")


@dataclass(frozen=True)
class TimelineRow:
    key: str
    asset: str
    partition: str | None
    phase: str
    attempts: int
    infra_retries: int
    start: datetime | None
    end: datetime | None
    offset: float  # fraction of the span where the bar starts
    width: float  # fraction of the span it covers
    duration: str
    message: str
    metadata: dict[str, str]
    checks: list[tuple[str, bool, str]]
    pod: str | None


@dataclass(frozen=True)
class Timeline:
    rows: list[TimelineRow]
    start: datetime | None
    span_seconds: float
    ticks: list[tuple[float, str]] = field(default_factory=list)
    omitted: int = 0


def timeline(run: MaterializationResource, now: datetime) -> Timeline:
    """The Gantt chart of a run: one row per step detail, bars as fractions of the
    run's span (running steps extend to `now`)."""
    status = run.status
    steps: Sequence[StepStatus] = status.steps if status else []
    starts = [s.start_time for s in steps if s.start_time]
    begin = (status.start_time if status and status.start_time else None) or (
        min(starts) if starts else None
    )
    finished = status is not None and status.phase in (
        RunPhase.SUCCEEDED,
        RunPhase.FAILED,
        RunPhase.CANCELED,
    )
    ends = [s.end_time for s in steps if s.end_time]
    stop = (status.completion_time if finished and status else None) or (
        max(ends) if finished and ends else now
    )
    span = max((stop - begin).total_seconds(), 0.001) if begin else 0.001
    ordered = sorted(steps, key=lambda s: (s.start_time is None, s.start_time or stop, s.key))
    rows: list[TimelineRow] = []
    for step in ordered[:_MAX_TIMELINE_ROWS]:
        key = StepKey.from_string(step.key)
        offset = width = 0.0
        seconds = None
        if begin and step.start_time:
            end = step.end_time or (stop if step.phase == StepPhase.RUNNING else step.start_time)
            seconds = (end - step.start_time).total_seconds()
            offset = min(1.0, max(0.0, (step.start_time - begin).total_seconds() / span))
            width = min(1.0 - offset, max(0.0, seconds / span))
        rows.append(
            TimelineRow(
                key=step.key,
                asset=key.asset.to_string(),
                partition=key.partition,
                phase=step.phase.value,
                attempts=step.attempts,
                infra_retries=step.infra_retries,
                start=step.start_time,
                end=step.end_time,
                offset=offset,
                width=width,
                duration=duration_text(seconds),
                message=step.message or "",
                metadata=dict(step.metadata),
                checks=[(c.name, c.passed, c.severity.value) for c in step.checks],
                pod=step_pod_name(run.metadata.name or "", step.key, step.attempts)
                if step.attempts
                else None,
            )
        )
    ticks = [(i / 4, duration_text(span * i / 4)) for i in range(5)] if begin else []
    omitted = max(0, len(ordered) - _MAX_TIMELINE_ROWS) + (status.omitted_steps if status else 0)
    return Timeline(rows, begin, span, ticks, omitted)
