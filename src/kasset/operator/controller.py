"""The run controller: one in-memory record per Materialization, driven by the pure plan.

Watch events (Materializations, pods) and step events (HTTP ingest, termination messages)
all come here, on kopf's event loop. Each is folded into the run's `RunState` with
`plan.advance`, and the actions it returns are applied at once: a step that succeeds
creates its downstream pods in the same call, with no timer in between (the latency hot
path). I/O is spawned as tasks through the `Kube` client; status writes are batched by
`StatusWriter`; Asset status by `AssetBook`; timers share one `Timers` task.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine, Hashable, Mapping, Sequence
from typing import Any

from kasset import naming
from kasset.errors import DefinitionError
from kasset.operator.assets import AssetBook
from kasset.operator.client import Kube
from kasset.operator.config import ControllerConfig
from kasset.operator.graphs import GraphSnapshot, snapshot_from_body
from kasset.operator.intake import Intake, is_current
from kasset.operator.janitor import Janitor
from kasset.operator.launcher import Launcher
from kasset.operator.records import RunKey, RunRecord
from kasset.operator.starting import Starter
from kasset.operator.statuswriter import StatusWriter
from kasset.operator.telemetry import MetricsSink, NullMetrics
from kasset.operator.timers import Timers
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

__all__ = ["Controller"]

logger = logging.getLogger(__name__)


class Controller:
    """Runs Materializations. Every method runs on one event loop; no locks needed."""

    def __init__(
        self,
        kube: Kube,
        config: ControllerConfig,
        metrics: MetricsSink | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.kube, self.config, self.clock = kube, config, clock
        self.metrics: MetricsSink = metrics or NullMetrics()
        self.timers = Timers()
        self.graphs: dict[tuple[str, str], GraphSnapshot] = {}
        self.runs: dict[RunKey, RunRecord] = {}
        self.waiting: deque[RunKey] = deque()
        self.restoring: dict[RunKey, list[Callable[[], None]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.assets = AssetBook(
            kube, self.timers, self.metrics, clock, self.spawn, config.asset_interval
        )
        self.writer = StatusWriter(self)
        self.launcher = Launcher(self)
        self.janitor = Janitor(self)
        self.intake = Intake(self)
        self.starter = Starter(self)
        self.is_ready = False

    # ---- plumbing -------------------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Runs `work` in the background; its errors are logged, never lost."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task failed", exc_info=task.exception())

    async def drain(self) -> None:
        """Waits until no background work is left (tests, graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def fire(self, key: Hashable) -> None:
        """A timer is due (called by `Timers.run` or by tests)."""
        assert isinstance(key, tuple)
        kind = key[0]
        if kind == "asset":
            self.assets.fire(key)
        elif kind == "flush":
            self.writer.fire(key[1])
        elif kind == "run":
            record = self.runs.get(key[1])
            if record is not None:
                self.step_event(record, Tick())
        elif kind == "pending":
            self.launcher.pending_expired(key[1], key[2], key[3])
        elif kind == "ttl":
            self.janitor.fire_ttl(key[1])

    def fire_due(self) -> None:
        """Fires every timer due now (tests drive time with a fake clock)."""
        for key in self.timers.due(self.clock()):
            self.fire(key)

    async def run_timers(self) -> None:
        await self.timers.run(self.clock, self.fire)

    # ---- AssetGraphs -------------------------------------------------------------------

    def on_graph(self, body: Mapping[str, Any], event_type: str | None) -> GraphSnapshot | None:
        """Caches the graph for planning; returns it, or None if deleted or invalid."""
        metadata = body.get("metadata") or {}
        ident = (str(metadata.get("namespace")), str(metadata.get("name")))
        if event_type == "DELETED":
            self.graphs.pop(ident, None)
            return None
        try:
            snapshot = snapshot_from_body(body)
        except DefinitionError:
            self.graphs.pop(ident, None)
            return None
        self.graphs[ident] = snapshot
        return snapshot

    async def graph_for(self, namespace: str, name: str) -> GraphSnapshot:
        """The cached graph, else read from the API (startup order is not guaranteed)."""
        cached = self.graphs.get((namespace, name))
        if cached is not None:
            return cached
        body = await self.kube.get_object("assetgraphs", namespace, name)
        if body is None:
            raise DefinitionError(f"AssetGraph '{name}' not found in namespace '{namespace}'")
        try:
            snapshot = snapshot_from_body(body)
        except DefinitionError as error:
            raise DefinitionError(f"AssetGraph '{name}' is invalid: {error}") from None
        self.graphs[(namespace, name)] = snapshot
        return snapshot

    # ---- Materializations ----------------------------------------------------------

    async def on_materialization(self, body: Mapping[str, Any], event_type: str | None) -> None:
        """Creates, resumes, updates, cancels or forgets a run (a watch event)."""
        started = self.clock()
        metadata = body.get("metadata") or {}
        key: RunKey = (str(metadata.get("namespace")), str(metadata.get("name")))
        if event_type == "DELETED" or metadata.get("deletionTimestamp"):
            self.forget(key, delete_pods=True)
            self.janitor.forget(key)
            return
        record = self.runs.get(key)
        if record is not None:
            self._update(record, body)
            return
        if key in self.restoring:
            return
        status = body.get("status") or {}
        if status.get("phase") in ("Succeeded", "Failed", "Canceled"):
            self.janitor.remember(body)
            return
        try:
            await self.starter.start(key, body)
        finally:
            self.metrics.reconcile_latency("materialization", self.clock() - started)

    def _update(self, record: RunRecord, body: Mapping[str, Any]) -> None:
        spec = body.get("spec") or {}
        generation = int((body.get("metadata") or {}).get("generation") or 0)
        if generation == record.generation:
            return  # our own status write coming back
        record.generation = generation
        record.ttl_seconds = spec.get("ttlSecondsAfterFinished")
        record.dirty = True
        wanted = spec.get("maxParallel") or record.graph.spec.max_parallel
        if wanted != record.state.plan.max_parallel:
            from dataclasses import replace

            record.state.plan = replace(record.state.plan, max_parallel=int(wanted))
        event: PlanEvent = Cancel("canceled: spec.cancel is true") if spec.get("cancel") else Tick()
        self.step_event(record, event)

    def forget(self, key: RunKey, delete_pods: bool = False) -> None:
        """Drops a run (its object is gone); stops its pods when asked."""
        record = self.runs.pop(key, None)
        if key in self.waiting:
            self.waiting.remove(key)
        if record is None:
            return
        if delete_pods:
            for step in record.state.running:
                pod = naming.step_pod_name(
                    record.name, step.to_string(), record.state.steps[step].attempts
                )
                self.spawn(self.launcher.delete_pod(record.namespace, pod))
        self.metrics.running_steps_set(self.running_total())
        self.wake_waiting()

    # ---- pods and step events (see intake.py) ------------------------------------

    async def on_pod(self, body: Mapping[str, Any], event_type: str | None) -> None:
        await self.intake.on_pod(body, event_type)

    async def submit_events(self, namespace: str, run: str, events: Sequence[Any]) -> None:
        """Folds events a step reported over HTTP (called by the ingest endpoint)."""
        await self.intake.submit_events(namespace, run, events)

    def fold_pod(self, record: RunRecord, body: Mapping[str, Any], deleted: bool) -> None:
        self.intake.fold_pod(record, body, deleted)

    def ready(self) -> bool:
        """Whether runs were restored after a (re)start: the ingest endpoint waits."""
        return self.is_ready

    def knows_run(self, namespace: str, run: str) -> bool:
        """Whether the run is one of ours (running, being restored, or finished and kept):
        events for any other are refused like a wrong token."""
        key = (namespace, run)
        return key in self.runs or key in self.restoring or key in self.janitor.finished_runs

    # ---- advancing -----------------------------------------------------------------

    def step_event(self, record: RunRecord, event: PlanEvent | None) -> None:
        """Folds one plan event into the run and applies what the plan says to do."""
        now = self.clock()
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
        if (
            capacity is not None
            and launched >= capacity
            and not record.state.phase.finished
            and record.running_count < record.state.plan.max_parallel
            and record.key not in self.waiting
        ):
            self.waiting.append(record.key)
        wakeup = record.state.next_wakeup()
        if wakeup is not None:
            self.timers.schedule(("run", record.key), wakeup)
        self.writer.mark(record)
        self.metrics.running_steps_set(self.running_total())

    def running_total(self) -> int:
        return sum(record.running_count for record in self.runs.values())

    def capacity_for(self, record: RunRecord) -> int | None:
        """How many more steps `record` may start under the global limit; runs already
        waiting for a slot go first (round robin in `wake_waiting`)."""
        if self.config.max_running is None:
            return None
        if any(key != record.key for key in self.waiting):
            return 0
        return max(0, self.config.max_running - self.running_total())

    def wake_waiting(self) -> None:
        """Hands free slots to runs waiting for them, one slot at a time: to the run with
        the fewest running steps, then to the one that has waited longest."""
        if self.config.max_running is None:
            return
        while self.waiting and self.config.max_running - self.running_total() > 0:
            key = min(self.waiting, key=self._running_of)
            self.waiting.remove(key)
            record = self.runs.get(key)
            if record is None or record.state.phase.finished:
                continue
            now = self.clock()
            actions = advance(record.state, None, now, 1)
            self.apply(record, actions, now, None, trigger=None)
            launched = any(isinstance(a, LaunchStep) for a in actions)
            room = record.running_count < record.state.plan.max_parallel
            if launched and room and key not in self.waiting:
                self.waiting.append(key)

    def _running_of(self, key: RunKey) -> int:
        record = self.runs.get(key)
        return record.running_count if record is not None else -1

    def record_for(self, key: RunKey) -> RunRecord | None:
        return self.runs.get(key)
