"""The Materialization status: built from a `RunRecord` (pure), and read back into step
states after a restart.

The status is compact by design (see `kasset.resources.materialization`): per asset, the
partitions in each finished phase as ranges; per step, details for running, retrying and
failed steps first, then the most recently succeeded ones, within a byte budget, so a
10,000-step run stays far below etcd's object limit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from kasset.definitions.keys import AssetKey, StepKey
from kasset.errors import DefinitionError
from kasset.operator.model.records import RunRecord
from kasset.plan import RunPlan, StepPhase, StepState
from kasset.resources.materialization import MAX_STEP_DETAILS, MaterializationStatus
from kasset.resources.materialization import StepPhase as WirePhase

__all__ = [
    "RUN_CONDITIONS",
    "STEP_DETAILS_BUDGET",
    "build_status",
    "iso",
    "parse_time",
    "restore_steps",
    "run_conditions",
    "wire_phase",
]

#: Bytes of status.steps; beyond half of it entries lose metadata, then are omitted.
STEP_DETAILS_BUDGET = 256 * 1024
#: What the whole status aims to stay under: status.steps shrinks when status.assets is big.
STATUS_BUDGET = 960 * 1024
_MESSAGE_LIMIT = 512
_SLIM_MESSAGE_LIMIT = 200
# Most pressing first: the phase a partitioned asset shows (see AssetRunSummary.phase).
_PRESSING = (
    WirePhase.RUNNING,
    WirePhase.WAITING_RETRY,
    WirePhase.FAILED,
    WirePhase.CANCELED,
    WirePhase.SKIPPED,
    WirePhase.PENDING,
    WirePhase.SUCCEEDED,
)
_RANGE_FIELDS = {
    WirePhase.SUCCEEDED: "succeeded",
    WirePhase.FAILED: "failed",
    WirePhase.SKIPPED: "skipped",
    WirePhase.CANCELED: "canceled",
}


def iso(timestamp: float | None) -> str | None:
    """RFC 3339 UTC with a Z, as Kubernetes writes times."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: Any) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def wire_phase(state: StepState) -> WirePhase:
    if state.phase is StepPhase.PENDING and state.attempts > 0:
        return WirePhase.WAITING_RETRY
    return WirePhase(state.phase.value)


def build_status(record: RunRecord) -> dict[str, Any]:
    """The whole status of the run (a merge patch replaces lists whole)."""
    state = record.state
    for asset in record.dirty_assets:
        summary = _asset_summary(record, asset)
        if summary is None:
            record.asset_summaries.pop(asset, None)
        else:
            record.asset_summaries[asset] = summary
    record.dirty_assets.clear()
    counts = state.counts()
    retrying = len(record.retrying)
    assets = [
        record.asset_summaries[a] for a in record.steps_of_asset if a in record.asset_summaries
    ]
    assets_size = len(json.dumps(assets, separators=(",", ":"))) if len(assets) > 1000 else 0
    budget = min(STEP_DETAILS_BUDGET, max(32 * 1024, STATUS_BUDGET - assets_size))
    steps, listed = _step_details(record, budget)
    left_pending = counts["total"] - counts["pending"] + retrying
    status: dict[str, Any] = {
        "phase": state.phase.value,
        "observedGeneration": record.generation,
        "startTime": iso(record.start_time),
        "completionTime": iso(record.completion_time),
        "message": (state.message or None) and state.message[:4096],
        "counts": {
            "total": counts["total"],
            "pending": counts["pending"] - retrying,
            "waitingRetry": retrying,
            "running": counts["running"],
            "succeeded": counts["succeeded"],
            "failed": counts["failed"],
            "skipped": counts["skipped"],
            "canceled": counts["canceled"],
        },
        "assets": assets,
        "steps": steps,
        "omittedSteps": max(0, left_pending - listed),
        "conditions": [*run_conditions(record), *record.conditions],
    }
    return status


#: The run's conditions, like a Job's: one per phase that tools wait for.
RUN_CONDITIONS = ("Running", "Succeeded", "Failed")


def run_conditions(record: RunRecord) -> list[dict[str, Any]]:
    """Running, Succeeded and Failed in metav1.Condition shape, so that `kubectl wait
    --for=condition=Succeeded`, kstatus and Argo CD read a run as they read a Job.

    Each transition time is the time the run entered the state the condition describes
    (its start, its completion, or its creation), so a condition's time does not move
    between writes and no clock is needed."""
    phase = record.state.phase.value
    finished = phase in ("Succeeded", "Failed", "Canceled")
    ended = iso(record.completion_time or record.created_at)
    created = iso(record.created_at)
    running_since = iso(record.start_time or record.created_at)
    message = (record.state.message or None) and record.state.message[:4096]
    conditions = []
    for kind in RUN_CONDITIONS:
        true = phase == kind
        if kind == "Running":
            when = running_since if true else (ended if finished else created)
        else:
            when = ended if finished else created
        conditions.append(
            {
                "type": kind,
                "status": "True" if true else "False",
                "reason": phase,
                "message": message if finished and phase != "Succeeded" else None,
                "lastTransitionTime": when,
                "observedGeneration": record.generation,
            }
        )
    return conditions


def _asset_summary(record: RunRecord, asset: AssetKey) -> dict[str, Any] | None:
    keys = record.steps_of_asset.get(asset, [])
    by_phase: dict[WirePhase, list[str]] = {}
    for key in keys:
        by_phase.setdefault(wire_phase(record.state.steps[key]), []).append(key.partition or "")
    if set(by_phase) <= {WirePhase.PENDING}:
        return None
    summary: dict[str, Any] = {
        "asset": asset.to_string(),
        "phase": next(p for p in _PRESSING if p in by_phase).value,
    }
    definition = record.graph.graph.nodes[asset].partitions
    if definition is not None:
        for phase, name in _RANGE_FIELDS.items():
            if by_phase.get(phase):
                summary[name] = definition.to_ranges(by_phase[phase])
    return summary


def _step_details(record: RunRecord, budget: int) -> tuple[list[dict[str, Any]], int]:
    state = record.state
    order = dict.fromkeys(
        (*state.running, *record.retrying, *record.failed, *reversed(record.recent))
    )
    entries: list[dict[str, Any]] = []
    used = 0
    for key in order:
        if len(entries) >= MAX_STEP_DETAILS:
            break
        entry = _step_entry(record, key, slim=used > budget // 2)
        size = len(json.dumps(entry, separators=(",", ":")))
        if used + size > budget:
            break
        entries.append(entry)
        used += size
    return entries, len(entries)


def _step_entry(record: RunRecord, key: StepKey, slim: bool) -> dict[str, Any]:
    current = record.state.steps[key]
    info = record.info.get(key)
    limit = _SLIM_MESSAGE_LIMIT if slim else _MESSAGE_LIMIT
    entry: dict[str, Any] = {
        "key": key.to_string(),
        "phase": wire_phase(current).value,
        "attempts": current.attempts,
    }
    if current.infra_retries:
        entry["infraRetries"] = current.infra_retries
    start = info.first_started_at if info is not None else None
    if start is not None or current.started_at is not None:
        entry["startTime"] = iso(start if start is not None else current.started_at)
    if current.phase.finished and current.ended_at is not None:
        entry["endTime"] = iso(current.ended_at)
    if current.phase is StepPhase.PENDING and current.retry_at is not None:
        entry["nextAttemptTime"] = iso(current.retry_at)
    if current.message:
        entry["message"] = current.message[:limit]
    if info is not None and not slim:
        if info.metadata:
            entry["metadata"] = dict(info.metadata)
        if info.checks:
            entry["checks"] = [
                {"name": c.name, "passed": c.passed, "severity": c.severity}
                for c in info.checks.values()
            ]
    return entry


def restore_steps(
    plan: RunPlan, status: MaterializationStatus, partitions: Mapping[AssetKey, Any]
) -> tuple[dict[StepKey, StepState], dict[StepKey, dict[str, Any]]]:
    """Step states from a status written by `build_status`, plus each detailed step's
    pod, start time, metadata and checks. Steps the status does not mention are pending."""
    steps: dict[StepKey, StepState] = {}
    for summary in status.assets:
        try:
            asset = AssetKey.from_string(summary.asset)
        except DefinitionError:
            continue
        definition = partitions.get(asset)
        if definition is None:
            _put(steps, plan, StepKey(asset), summary.phase)
            continue
        for phase, name in _RANGE_FIELDS.items():
            text = getattr(summary, name)
            if text:
                for partition in _safe_ranges(definition, text):
                    _put(steps, plan, StepKey(asset, partition), phase)
    details: dict[StepKey, dict[str, Any]] = {}
    for entry in status.steps:
        try:
            key = StepKey.from_string(entry.key)
        except DefinitionError:
            continue
        if key not in plan.steps:
            continue
        current = _put(steps, plan, key, entry.phase) or StepState()
        current.attempts = entry.attempts
        current.infra_retries = entry.infra_retries
        current.started_at = parse_time(entry.start_time)
        current.ended_at = parse_time(entry.end_time)
        current.retry_at = parse_time(entry.next_attempt_time)
        current.message = entry.message
        steps[key] = current
        details[key] = {
            "start": parse_time(entry.start_time),
            "metadata": dict(entry.metadata),
            "checks": [(c.name, c.passed, c.severity.value) for c in entry.checks],
        }
    return steps, details


def _put(
    steps: dict[StepKey, StepState], plan: RunPlan, key: StepKey, phase: WirePhase
) -> StepState | None:
    if key not in plan.steps:
        return None
    if phase is WirePhase.WAITING_RETRY:
        state = StepState(StepPhase.PENDING, attempts=1)
    else:
        state = StepState(StepPhase(phase.value), attempts=0 if phase is WirePhase.PENDING else 1)
    steps[key] = state
    return state


def _safe_ranges(definition: Any, text: str) -> Iterable[str]:
    try:
        return list(definition.from_ranges(text))
    except DefinitionError:
        return []
