"""Rebuilding a run after an operator restart, from its status and its pods (pure).

The status may lag the truth by one flush interval: a pod may exist for an attempt the
status never recorded (we crashed right after creating it), or a pod may have finished
while we were down. Pods win: an unknown attempt is adopted as running, and finished
pods are folded afterwards by the controller like any pod event. A running attempt
without a pod is launched again under the same name (a 409 means it exists after all).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kasset.definitions.keys import AssetKey, StepKey
from kasset.operator.model.podstate import pod_identity
from kasset.operator.model.status import parse_time, restore_steps
from kasset.plan import RunPhase, RunPlan, RunState, StepPhase, StepState
from kasset.resources.materialization import MaterializationStatus

__all__ = ["RestoredRun", "restore_run"]


@dataclass
class RestoredRun:
    state: RunState
    details: dict[StepKey, dict[str, Any]]
    relaunch: list[tuple[StepKey, int]] = field(default_factory=list)
    pods: list[Mapping[str, Any]] = field(default_factory=list)
    start_time: float | None = None


def restore_run(
    plan: RunPlan,
    status: MaterializationStatus,
    pods: Sequence[Mapping[str, Any]],
    partitions: Mapping[AssetKey, Any],
) -> RestoredRun:
    steps, details = restore_steps(plan, status, partitions)
    newest: dict[StepKey, tuple[int, Mapping[str, Any]]] = {}
    for pod in pods:
        ident = pod_identity(pod)
        if ident is None or ident.step not in plan.steps:
            continue
        if ident.step not in newest or newest[ident.step][0] < ident.attempt:
            newest[ident.step] = (ident.attempt, pod)
    for step, (attempt, pod) in newest.items():
        current = steps.get(step)
        created = parse_time((pod.get("metadata") or {}).get("creationTimestamp"))
        if current is None or attempt > current.attempts:
            # Created after the last status write: the attempt is running (or ran).
            current = steps[step] = _running(attempt, created)
            details.setdefault(step, {})["pod"] = pod["metadata"]["name"]
            details[step].setdefault("start", created)
        elif attempt == current.attempts and current.phase is StepPhase.RUNNING:
            current.started_at = created or current.started_at
            details.setdefault(step, {})["pod"] = pod["metadata"]["name"]
    has_started = any(s.phase is not StepPhase.PENDING or s.attempts for s in steps.values())
    state = RunState(plan, steps, phase=RunPhase.RUNNING if has_started else RunPhase.PENDING)
    relaunch = [
        (key, current.attempts)
        for key, current in state.steps.items()
        if current.phase is StepPhase.RUNNING
        and (key not in newest or newest[key][0] != current.attempts)
    ]
    return RestoredRun(
        state=state,
        details=details,
        relaunch=relaunch,
        pods=[pod for _, pod in newest.values()],
        start_time=parse_time(status.start_time),
    )


def _running(attempt: int, created: float | None) -> StepState:
    return StepState(StepPhase.RUNNING, attempts=attempt, started_at=created)
