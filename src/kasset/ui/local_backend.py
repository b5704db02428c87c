"""The backend of `kasset dev`: no cluster. Runs execute with the local executor (one
`python -m kasset.runtime` subprocess per step, as `kasset materialize --local` does) on
a background thread each; their statuses and the assets' live in memory, rebuilt from
the plan's state and the runtime's events, and each finished run is saved under
`.kasset/runs/<run>/materialization.json` so a restart keeps the history.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kasset.compiler import compile_definitions
from kasset.definitions.definitions import Definitions
from kasset.definitions.keys import StepKey
from kasset.errors import KassetError
from kasset.local.executor import DEFAULT_HOME, new_run_id
from kasset.local.loading import CodeLocation
from kasset.local.loop import drive
from kasset.local.processes import SubprocessRunner, read_events, step_file_stem
from kasset.plan import Action, Event, LaunchStep, RunState, build_plan
from kasset.plan import RunPhase as PlanRunPhase
from kasset.plan import StepPhase as PlanStepPhase
from kasset.resources import (
    AssetGraphResource,
    AssetGraphStatus,
    AssetResource,
    Condition,
    ConditionStatus,
    MaterializationResource,
    MaterializationStatus,
    PartitionSelection,
    RunPhase,
    StepCheck,
)
from kasset.ui.backend import (
    ChangeFeed,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    select_runs,
    watch_object,
)
from kasset.ui.launching import build_materialization, partition_keys, rerun_request
from kasset.ui.lineage import prewarm
from kasset.ui.local_runs import (
    AssetBook,
    StepExtras,
    check_result,
    events_in_order,
    metadata_summary,
    run_status,
    utc,
)
from kasset.ui.local_steps import POLL_SECONDS, CancelOnRequest, read_from
from kasset.ui.schedules import ScheduleView, schedule_views

__all__ = ["LocalBackend"]

log = logging.getLogger(__name__)

_SAVED = "materialization.json"


@dataclass
class _Run:
    resource: MaterializationResource
    run_dir: Path
    state: RunState | None = None
    runner: SubprocessRunner | None = None
    extras: dict[StepKey, StepExtras] = field(default_factory=dict)
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    start: float | None = None
    end: float | None = None
    events_seen: int = 0
    failures_seen: set[StepKey] = field(default_factory=set)

    @property
    def finished(self) -> bool:
        status = self.resource.status
        return status is not None and status.phase.finished


class LocalBackend:
    """Serves one code location's Definitions as one AssetGraph in namespace `local`."""

    mode = "dev"

    def __init__(
        self,
        defs: Definitions,
        location: CodeLocation,
        *,
        namespace: str = "local",
        name: str | None = None,
        home: Path = DEFAULT_HOME,
        storage_dir: Path | None = None,
        max_parallel: int | None = None,
        python: str = sys.executable,
        clock: Callable[[], float] = time.time,
        warm_layout: bool = True,
    ) -> None:
        self.defs = defs
        self.location = location
        self.namespace = namespace
        self.home = home.resolve()
        self.storage = (storage_dir or self.home / "storage").resolve()
        self.max_parallel = max_parallel or os.cpu_count() or 1
        self.python = python
        self.clock = clock
        resource = compile_definitions(
            defs,
            image="kasset-dev",
            module=location.module,
            attribute=location.attribute or "defs",
            name=name,
            namespace=namespace,
        )
        resource.metadata.creation_timestamp = datetime.now(UTC)
        resource.status = AssetGraphStatus(
            asset_count=len(resource.spec.assets),
            conditions=[
                Condition(
                    type="Ready",
                    status=ConditionStatus.TRUE,
                    reason="Loaded",
                    message=f"loaded from {location.to_string()}",
                )
            ],
        )
        self.graph_resource = resource
        self.name = resource.metadata.name or ""
        self._lock = threading.RLock()
        self._feed = ChangeFeed()
        self._book = AssetBook(resource, defs.graph)
        self._runs: dict[str, _Run] = {}
        self._load_saved_runs()
        if warm_layout:
            prewarm(defs.graph)

    # Reads: served from memory.

    def graphs(self) -> list[AssetGraphResource]:
        return [self.graph_resource]

    def graph(self, namespace: str, name: str) -> AssetGraphResource:
        self._check_graph(namespace, name)
        return self.graph_resource

    def assets(self, namespace: str | None = None, graph: str | None = None) -> list[AssetResource]:
        if (namespace not in (None, self.namespace)) or (graph not in (None, self.name)):
            return []
        with self._lock:
            return [a.model_copy() for a in self._book.assets.values()]

    def asset(self, namespace: str, name: str) -> AssetResource:
        with self._lock:
            found = self._book.by_name().get(name) if namespace == self.namespace else None
            if found is None:
                raise NotFoundError(f"no asset {namespace}/{name}")
            return found.model_copy()

    def runs(
        self,
        namespace: str | None = None,
        graph: str | None = None,
        phase: RunPhase | None = None,
        limit: int = 200,
    ) -> list[MaterializationResource]:
        if (namespace not in (None, self.namespace)) or (graph not in (None, self.name)):
            return []
        with self._lock:
            runs = [r.resource.model_copy() for r in self._runs.values()]
        return select_runs(runs, None, None, phase, limit)

    def run(self, namespace: str, name: str) -> MaterializationResource:
        return self._get(namespace, name).resource.model_copy()

    def watch_run(self, namespace: str, name: str) -> AsyncIterator[MaterializationResource]:
        self._get(namespace, name)
        return watch_object(self._feed, ("run", name), lambda: self.run(namespace, name))

    async def step_logs(
        self, namespace: str, run: str, step: str, attempt: int | None = None, follow: bool = False
    ) -> AsyncIterator[str]:
        record = self._get(namespace, run)
        try:
            key = StepKey.from_string(step)
        except KassetError as error:
            yield f"(invalid step {step!r}: {error})\n"
            return
        with self._lock:
            state = record.state
            attempts = state.steps[key].attempts if state and key in state.steps else 0
        attempt = attempt or attempts
        if not attempt:
            yield f"(step {step} has not started in run {run})\n"
            return
        path = record.run_dir / "logs" / f"{step_file_stem(key, attempt)}.log"
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        position = 0
        while True:
            data = await asyncio.to_thread(read_from, path, position)
            if data:
                position += len(data)
                yield decoder.decode(data)
                continue
            if not follow or self._attempt_over(record, key, attempt):
                tail = await asyncio.to_thread(read_from, path, position)
                if tail:
                    yield decoder.decode(tail, final=True)
                return
            await asyncio.sleep(POLL_SECONDS)

    def schedules(self) -> list[ScheduleView]:
        return schedule_views([self.graph_resource], datetime.now(UTC))

    # Mutations.

    def launch(
        self,
        namespace: str,
        graph: str,
        selection: str,
        partitions: PartitionSelection | None,
        launched_by: str,
    ) -> str:
        self._check_graph(namespace, graph)
        selection = selection.strip() or "*"
        keys = partition_keys(self.defs.graph, selection, partitions)
        try:
            plan = build_plan(self.defs.graph, selection, keys, max_parallel=self.max_parallel)
        except KassetError as error:
            raise InvalidRequestError(str(error)) from None
        name = new_run_id()
        resource = build_materialization(
            name=name,
            namespace=self.namespace,
            graph=self.name,
            selection=selection,
            partitions=partitions,
            launched_by=launched_by,
            now=datetime.now(UTC),
        )
        resource.status = MaterializationStatus(phase=RunPhase.PENDING)
        resource.status.counts.total = resource.status.counts.pending = len(plan)
        record = _Run(resource=resource, run_dir=self.home / "runs" / name, state=RunState(plan))
        record.thread = threading.Thread(
            target=self._execute, args=(record,), name=f"kasset-dev-{name}", daemon=True
        )
        with self._lock:
            self._runs[name] = record
        self._feed.bump("runs")
        record.thread.start()
        return name

    def cancel(self, namespace: str, run: str) -> None:
        record = self._get(namespace, run)
        with self._lock:
            if record.finished:
                raise ConflictError(f"run {run} has already finished")
            record.resource = record.resource.model_copy(
                update={"spec": record.resource.spec.model_copy(update={"cancel": True})}
            )
        record.cancel.set()
        self._feed.bump(("run", run))

    def rerun_failed(self, namespace: str, run: str) -> str:
        record = self._get(namespace, run)
        selection, partitions = rerun_request(record.resource, self.defs.graph)
        return self.launch(namespace, self.name, selection, partitions, f"ui:rerun:{run}")

    def close(self, timeout: float = 10.0) -> None:
        """Cancels the runs still going and waits for their steps to stop."""
        with self._lock:
            live = [r for r in self._runs.values() if r.thread and r.thread.is_alive()]
        for record in live:
            record.cancel.set()
        for record in live:
            if record.thread is not None:
                record.thread.join(timeout)

    def wait(self, run: str, timeout: float = 60.0) -> MaterializationResource:
        """Blocks until a run finished (for tests and scripts)."""
        record = self._get(self.namespace, run)
        if record.thread is not None:
            record.thread.join(timeout)
        return self.run(self.namespace, run)

    # The run thread.

    def _execute(self, record: _Run) -> None:
        name = record.resource.metadata.name or ""
        state = record.state
        if state is None:
            return
        try:
            runner = SubprocessRunner(
                run_id=name,
                code=self.location.to_string(),
                storage_uri=str(self.storage),
                run_dir=record.run_dir,
                path_entry=self.location.path_entry,
                cwd=os.getcwd(),
                python=self.python,
            )
            record.runner = runner
            self.storage.mkdir(parents=True, exist_ok=True)
            try:
                drive(
                    state,
                    CancelOnRequest(runner, record.cancel),
                    observer=_Observer(self, record),
                    clock=self.clock,
                )
            finally:
                runner.shutdown()
        except Exception as error:  # a bug or an OS error: end the run, say why
            log.exception("run %s crashed", name)
            state.phase = PlanRunPhase.FAILED
            state.message = f"kasset dev could not run this: {type(error).__name__}: {error}"
        record.end = self.clock()
        self._sync(record)
        self._save(record)

    def _sync(self, record: _Run) -> None:
        state = record.state
        if state is None:
            return
        name = record.resource.metadata.name or ""
        with self._lock:
            events = record.runner.events if record.runner else []
            for event in events[record.events_seen :]:
                self._apply_event(record, event)
            record.events_seen = len(events)
            now = datetime.fromtimestamp(self.clock(), UTC)
            for key, step in state.steps.items():
                if step.phase is PlanStepPhase.FAILED and key not in record.failures_seen:
                    record.failures_seen.add(key)
                    self._book.failed(
                        key.asset.to_string(),
                        name,
                        key.partition,
                        utc(step.ended_at) or now,
                        step.message,
                    )
            if record.start is None and state.phase is not PlanRunPhase.PENDING:
                record.start = self.clock()
            status = run_status(
                state,
                self.defs.graph,
                record.extras,
                start=record.start,
                end=record.end if state.phase.finished else None,
            )
            record.resource = record.resource.model_copy(update={"status": status})
        self._feed.bump(("run", name))
        self._feed.bump("runs")

    def _apply_event(self, record: _Run, event: dict[str, Any]) -> None:
        kind, payload = event.get("type"), event.get("payload") or {}
        try:
            step = StepKey.from_string(str(event.get("step")))
            when = datetime.fromisoformat(str(event.get("timestamp")).replace("Z", "+00:00"))
        except (KassetError, ValueError):
            return
        run = record.resource.metadata.name or ""
        extra = record.extras.setdefault(step, StepExtras())
        if kind == "ASSET_MATERIALIZED":
            extra.metadata = metadata_summary(payload.get("metadata"))
            version = payload.get("dataVersion")
            self._book.materialized(
                step.asset.to_string(),
                run,
                step.partition,
                when,
                extra.metadata,
                str(version)[:256] if version else None,
            )
        elif kind == "ASSET_CHECK_EVALUATED":
            result = check_result(payload, run, step.partition, when)
            if result is not None:
                extra.checks[result.name] = StepCheck(
                    name=result.name, passed=result.passed, severity=result.severity
                )
                self._book.checked(step.asset.to_string(), result)

    def _attempt_over(self, record: _Run, key: StepKey, attempt: int) -> bool:
        with self._lock:
            if record.finished or record.state is None or key not in record.state.steps:
                return True
            step = record.state.steps[key]
            return step.attempts != attempt or step.phase is not PlanStepPhase.RUNNING

    # Saved runs.

    def _save(self, record: _Run) -> None:
        try:
            record.run_dir.mkdir(parents=True, exist_ok=True)
            (record.run_dir / _SAVED).write_text(
                record.resource.model_dump_json(by_alias=True, exclude_none=True), encoding="utf-8"
            )
        except OSError as error:
            log.warning("could not save run %s: %s", record.resource.metadata.name, error)

    def _load_saved_runs(self) -> None:
        saved: list[tuple[MaterializationResource, Path]] = []
        for path in sorted((self.home / "runs").glob(f"*/{_SAVED}")):
            try:
                resource = MaterializationResource.model_validate_json(path.read_text("utf-8"))
            except (OSError, ValueError):
                continue
            if resource.spec.graph == self.name and resource.metadata.namespace == self.namespace:
                saved.append((resource, path.parent))
        saved.sort(
            key=lambda item: item[0].metadata.creation_timestamp or datetime.min.replace(tzinfo=UTC)
        )
        for resource, run_dir in saved:
            name = resource.metadata.name or run_dir.name
            record = _Run(resource=resource, run_dir=run_dir)
            self._runs[name] = record
            events: list[dict[str, Any]] = []
            for file in sorted((run_dir / "events").glob("*.jsonl")):
                events.extend(read_events(file))
            for event in events_in_order(events):
                self._apply_event(record, dict(event))
            for step in resource.status.steps if resource.status else []:
                if step.phase.value == "Failed":
                    key = StepKey.from_string(step.key)
                    self._book.failed(
                        key.asset.to_string(),
                        name,
                        key.partition,
                        step.end_time or datetime.now(UTC),
                        step.message,
                    )

    def _get(self, namespace: str, name: str) -> _Run:
        with self._lock:
            record = self._runs.get(name) if namespace == self.namespace else None
        if record is None:
            raise NotFoundError(f"no run {namespace}/{name}")
        return record

    def _check_graph(self, namespace: str, name: str) -> None:
        if namespace != self.namespace or name != self.name:
            raise NotFoundError(f"no asset graph {namespace}/{name}")


class _Observer:
    """Feeds each transition of the plan back into the run's status."""

    refresh_interval: float | None = None

    def __init__(self, backend: LocalBackend, record: _Run) -> None:
        self.backend = backend
        self.record = record

    def update(
        self, state: RunState, event: Event | None, actions: Sequence[Action], now: float
    ) -> None:
        for action in actions:
            if isinstance(action, LaunchStep):
                extra = self.record.extras.setdefault(action.step, StepExtras())
                if extra.first_start is None:
                    extra.first_start = now
        self.backend._sync(self.record)
