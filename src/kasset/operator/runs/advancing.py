"""Advancing runs: every plan event of a run is folded into its `RunState` with
`plan.advance`, and the actions it returns are applied at once.

A step that succeeds creates its downstream pods in the same call, with no timer in
between (the latency hot path). Launching pods, writing status and reporting are the
launcher's and the status writer's, below; the global limit on running steps
(`--max-running`) is kept here, handing free slots round robin to waiting runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from kasset import naming
from kasset.operator.model.records import RunKey, RunRecord, is_current
from kasset.operator.runs.launching import Launcher
from kasset.operator.runs.ports import Ports, RunTable
from kasset.operator.runs.statuswriter import StatusWriter
from kasset.plan import (
    Action,
    Cancel,
    FinishRun,
    LaunchStep,
    StepFailed,
    StepSucceeded,
    StopStep,
    Tick,
    advance,
)
from kasset.plan import Event as PlanEvent

__all__ = ["Advancer", "RunWakeup"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunWakeup:
    """Timer key: the run's plan asked to be woken (a retry delay or a deadline)."""

    run: RunKey


class Advancer:
    """Folds plan events into runs and applies the plan's answer. Every method runs on one
    event loop; no locks needed."""

    def __init__(
        self, ports: Ports, table: RunTable, launcher: Launcher, writer: StatusWriter
    ) -> None:
        self.ports, self.table, self.launcher, self.writer = ports, table, launcher, writer
        ports.timers.on(RunWakeup, self._wake)

    def _wake(self, due: RunWakeup) -> None:
        record = self.table.get(due.run)
        if record is not None:
            self.step_event(record, Tick())

    def update(self, record: RunRecord, body: Mapping[str, Any]) -> None:
        """The user changed the spec of a running Materialization: TTL, maxParallel, or
        cancel (our own status writes coming back are ignored by their generation)."""
        spec = body.get("spec") or {}
        generation = int((body.get("metadata") or {}).get("generation") or 0)
        if generation == record.generation:
            return
        record.generation = generation
        record.ttl_seconds = spec.get("ttlSecondsAfterFinished")
        record.dirty = True
        wanted = spec.get("maxParallel") or record.graph.spec.max_parallel
        if wanted != record.state.plan.max_parallel:
            record.state.plan = replace(record.state.plan, max_parallel=int(wanted))
        event: PlanEvent = Cancel("canceled: spec.cancel is true") if spec.get("cancel") else Tick()
        self.step_event(record, event)

    def step_event(self, record: RunRecord, event: PlanEvent | None) -> None:
        """Folds one plan event into the run and applies what the plan says to do."""
        now = self.ports.clock()
        capacity = self.capacity_for(record)
        ended = isinstance(event, StepSucceeded | StepFailed) and is_current(
            record, event.step, event.attempt
        )
        actions = advance(record.state, event, now, capacity)
        if ended and isinstance(event, StepSucceeded | StepFailed):
            self.launcher.step_finished(record, event.step, event, now)
        trigger = now if ended and isinstance(event, StepSucceeded) else None
        self.apply(record, actions, now, capacity, trigger)
        if isinstance(event, Cancel):
            record.touch_all()
            self.writer.mark(record)
        self.wake_waiting()

    def apply(
        self,
        record: RunRecord,
        actions: list[Action],
        now: float,
        capacity: int | None,
        trigger: float | None,
    ) -> None:
        launched = 0
        for action in actions:
            if isinstance(action, LaunchStep):
                launched += 1
                self.launcher.launch(record, action.step, action.attempt, trigger)
            elif isinstance(action, StopStep):
                self.launcher.stop(record, action, now)
            elif isinstance(action, FinishRun):
                self.launcher.finish(record, action, now)
        table = self.table
        if (
            capacity is not None
            and launched >= capacity
            and not record.state.phase.finished
            and record.running_count < record.state.plan.max_parallel
            and record.key not in table.waiting
        ):
            table.waiting.append(record.key)
        wakeup = record.state.next_wakeup()
        if wakeup is not None:
            self.ports.timers.schedule(RunWakeup(record.key), wakeup)
        self.writer.mark(record)
        self.ports.metrics.running_steps_set(table.running_total())

    def capacity_for(self, record: RunRecord) -> int | None:
        """How many more steps `record` may start under the global limit; runs already
        waiting for a slot go first (round robin in `wake_waiting`)."""
        limit = self.ports.config.max_running
        if limit is None:
            return None
        if any(key != record.key for key in self.table.waiting):
            return 0
        return max(0, limit - self.table.running_total())

    def wake_waiting(self) -> None:
        """Hands free slots to runs waiting for them, one slot at a time: to the run with
        the fewest running steps, then to the one that has waited longest."""
        limit, table = self.ports.config.max_running, self.table
        if limit is None:
            return
        while table.waiting and limit - table.running_total() > 0:
            key = min(table.waiting, key=table.running_of)
            table.waiting.remove(key)
            record = table.get(key)
            if record is None or record.state.phase.finished:
                continue
            now = self.ports.clock()
            actions = advance(record.state, None, now, 1)
            self.apply(record, actions, now, None, trigger=None)
            launched = any(isinstance(a, LaunchStep) for a in actions)
            room = record.running_count < record.state.plan.max_parallel
            if launched and room and key not in table.waiting:
                table.waiting.append(key)

    def forget(self, key: RunKey, delete_pods: bool = False) -> None:
        """Drops a run (its object is gone); stops its pods when asked."""
        table = self.table
        record = table.runs.pop(key, None)
        if key in table.waiting:
            table.waiting.remove(key)
        self.writer.forget(key)
        if record is None:
            return
        if delete_pods:
            for step in record.state.running:
                attempt = record.state.steps[step].attempts
                pod = naming.step_pod_name(record.name, step.to_string(), attempt)
                self.ports.spawn(self.launcher.delete_pod(record.namespace, pod))
        self.ports.metrics.running_steps_set(table.running_total())
        self.wake_waiting()
