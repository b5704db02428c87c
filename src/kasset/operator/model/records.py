"""What the operator remembers about one run between events: the plan and its state, and
the bookkeeping that keeps status writes incremental and bounded.

A `RunRecord` is rebuilt from the Materialization status and the run's pods after a restart
(see `status.restore_steps`), so nothing here must survive the process.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from kasset.definitions.keys import AssetKey, StepKey
from kasset.operator.model.graphs import GraphSnapshot
from kasset.operator.model.reports import CheckOutcome
from kasset.plan import RunState, StepPhase

__all__ = ["EventIds", "FinishedRun", "RunKey", "RunRecord", "StepInfo", "is_current"]

RunKey = tuple[str, str]
"""(namespace, name) of a Materialization."""

MAX_RECENT = 1_000


@dataclass(frozen=True)
class FinishedRun:
    """What is kept of a finished run: enough for its TTL and its graph's historyLimit."""

    namespace: str
    name: str
    graph: str
    completion: float
    ttl: int | None = None

    @property
    def key(self) -> RunKey:
        return (self.namespace, self.name)


class EventIds:
    """A bounded set of event ids seen lately: replays (HTTP retry, termination message
    after HTTP) are dropped; the oldest ids are forgotten first."""

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, event_id: str) -> bool:
        """Records the id; False if it was already there."""
        if event_id in self._ids:
            self._ids.move_to_end(event_id)
            return False
        self._ids[event_id] = None
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._ids)


@dataclass
class StepInfo:
    """What the plan does not hold about a step: its pod, reports and timings."""

    pod: str | None = None
    first_started_at: float | None = None
    pod_created_at: float | None = None
    launch_trigger_at: float | None = None
    pending_reason: str | None = None
    started_reported: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    checks: dict[str, CheckOutcome] = field(default_factory=dict)
    blocking_failure: str | None = None


@dataclass
class RunRecord:
    """One Materialization being run."""

    namespace: str
    name: str
    uid: str
    generation: int
    graph: GraphSnapshot
    state: RunState
    created_at: float
    launched_by: str | None = None
    ttl_seconds: int | None = None
    start_time: float | None = None
    completion_time: float | None = None
    info: dict[StepKey, StepInfo] = field(default_factory=dict)
    seen: EventIds = field(default_factory=EventIds)
    conditions: list[dict[str, Any]] = field(default_factory=list)
    # What changed since the last status write, and ordered step sets that make the
    # bounded step list cheap to build (the writer's own bookkeeping is in the writer).
    dirty: bool = True
    dirty_assets: set[AssetKey] = field(default_factory=set)
    asset_summaries: dict[AssetKey, dict[str, Any]] = field(default_factory=dict)
    retrying: dict[StepKey, None] = field(default_factory=dict)
    failed: dict[StepKey, None] = field(default_factory=dict)
    recent: deque[StepKey] = field(default_factory=lambda: deque(maxlen=MAX_RECENT))
    steps_of_asset: dict[AssetKey, list[StepKey]] = field(default_factory=dict)
    finish_reported: bool = False

    def __post_init__(self) -> None:
        for key in self.state.plan.steps:
            self.steps_of_asset.setdefault(key.asset, []).append(key)

    @property
    def key(self) -> RunKey:
        return (self.namespace, self.name)

    def step_info(self, step: StepKey) -> StepInfo:
        info = self.info.get(step)
        if info is None:
            info = self.info[step] = StepInfo()
        return info

    def touch(self, step: StepKey) -> None:
        """Notes that `step` may have changed phase: its bookkeeping and its asset's
        summary are refreshed, and the status is due for a write."""
        current = self.state.steps[step]
        phase = current.phase
        if phase is StepPhase.PENDING and current.attempts > 0:
            self.retrying[step] = None
        else:
            self.retrying.pop(step, None)
        if phase is StepPhase.FAILED:
            self.failed[step] = None
        elif phase is StepPhase.SUCCEEDED:
            self.recent.append(step)
        self.dirty_assets.add(step.asset)
        self.dirty = True

    def touch_downstream(self, step: StepKey) -> None:
        """A failure skips everything downstream: those assets' summaries change. (Asset
        level, from the graph: cheaper than the plan's step closure.)"""
        for asset in self.graph.graph.downstream(step.asset):
            if asset in self.steps_of_asset:
                self.dirty_assets.add(asset)
        self.dirty = True

    def touch_all(self) -> None:
        self.dirty_assets.update(self.steps_of_asset)
        self.dirty = True

    @property
    def running_count(self) -> int:
        return self.state.count(StepPhase.RUNNING)


def is_current(record: RunRecord, step: StepKey, attempt: int) -> bool:
    """Whether `attempt` is the running attempt of `step`."""
    current = record.state.steps.get(step)
    return (
        current is not None and current.phase is StepPhase.RUNNING and current.attempts == attempt
    )
