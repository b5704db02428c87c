"""The run state machine shared by every executor: in-process, subprocesses, pods.

A `RunPlan` is the immutable set of steps (asset x partition) of one run and the steps
each waits for. A `RunState` holds where each step is. `advance(state, event, now)` folds
one event into the state and returns the actions the executor must take; it never does
I/O and never reads the clock, so every executor behaves the same and the machine is
tested exhaustively without one.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Any

from kasset.backfill import backfill_targets, count_steps
from kasset.definitions.keys import AssetKey, StepKey
from kasset.definitions.policies import NO_RETRIES, RetryPolicy
from kasset.errors import PlanError
from kasset.graph import AssetGraph

__all__ = [
    "INFRA_RETRIES",
    "INFRA_RETRY_DELAY",
    "MAX_INFRA_RETRIES",
    "MAX_STEPS",
    "NO_OUTCOME",
    "Cancel",
    "FinishRun",
    "LaunchStep",
    "PlannedStep",
    "RetryRequest",
    "RunPhase",
    "RunPlan",
    "RunState",
    "StepFailed",
    "StepPhase",
    "StepState",
    "StepSucceeded",
    "StopStep",
    "Tick",
    "advance",
    "build_plan",
]

MAX_STEPS = 10_000
"""The most steps one run may have; a bigger backfill is split into several runs."""

INFRA_RETRIES = 3
"""Default attempts per step lost to the infrastructure that are retried for free."""
MAX_INFRA_RETRIES = 10
"""The most an operator may be configured with (status.steps[].infraRetries allows 10)."""
INFRA_RETRY_DELAY = 2.0
"""Seconds before the first such retry; doubled for each next one (2, 4, 8 s)."""


class StepPhase(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SKIPPED = "Skipped"
    CANCELED = "Canceled"

    @property
    def finished(self) -> bool:
        return self not in (StepPhase.PENDING, StepPhase.RUNNING)


class RunPhase(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELED = "Canceled"

    @property
    def finished(self) -> bool:
        return self in (RunPhase.SUCCEEDED, RunPhase.FAILED, RunPhase.CANCELED)


@dataclass(frozen=True)
class PlannedStep:
    key: StepKey
    upstream: tuple[StepKey, ...]
    retry_policy: RetryPolicy = NO_RETRIES
    timeout: float | None = None


@dataclass(frozen=True)
class RunPlan:
    """The steps of a run in execution order, and who waits for whom."""

    steps: dict[StepKey, PlannedStep]
    downstream: dict[StepKey, tuple[StepKey, ...]]
    max_parallel: int
    #: Attempts per step the infrastructure may lose (see `StepFailed.infrastructure`)
    #: that are retried without counting against the step's retry policy.
    infra_retries: int = INFRA_RETRIES

    def __len__(self) -> int:
        return len(self.steps)

    def downstream_closure(self, key: StepKey) -> list[StepKey]:
        seen: dict[StepKey, None] = {}
        frontier = list(self.downstream.get(key, ()))
        while frontier:
            step = frontier.pop()
            if step not in seen:
                seen[step] = None
                frontier.extend(self.downstream.get(step, ()))
        return sorted(seen, key=self.position.__getitem__)

    @cached_property
    def position(self) -> dict[StepKey, int]:
        """Each step's place in execution order."""
        return {key: i for i, key in enumerate(self.steps)}


def build_plan(
    graph: AssetGraph,
    selection: str | None = None,
    partitions: Sequence[str] | None = None,
    max_parallel: int = 16,
    max_steps: int = MAX_STEPS,
    infra_retries: int = INFRA_RETRIES,
    now: datetime | None = None,
) -> RunPlan:
    """Plans the selected assets x partitions: `partitions` are the keys of the root
    partitioned assets; the others get what their partition mappings feed them
    (`backfill.backfill_targets`), and a step waits for exactly the upstream steps its
    mapping reads. Raises PlanError (a DefinitionError) when a partitioned asset has no
    partitions to run, a key is invalid, or the run is too big."""
    if max_parallel < 1:
        raise PlanError(f"maxParallel must be at least 1, got {max_parallel}")
    selected = graph.select(selection)
    targets = backfill_targets(graph, selected, partitions, now)
    if count_steps(targets) > max_steps:
        raise PlanError(f"the run has more than {max_steps} steps; split it into several runs")
    steps_of: dict[AssetKey, list[StepKey]] = {}
    at_position: dict[AssetKey, dict[int, StepKey]] = {}
    for key, ranges in targets.items():
        definition = graph.nodes[key].partitions
        if ranges is None or definition is None:
            steps_of[key] = [StepKey(key)]
            continue
        positions = [i for r in ranges for i in r]
        steps_of[key] = [StepKey(key, definition.key_at(i)) for i in positions]
        at_position[key] = dict(zip(positions, steps_of[key], strict=True))
    steps: dict[StepKey, PlannedStep] = {}
    downstream: dict[StepKey, list[StepKey]] = {}
    for key in selected:
        node = graph.nodes[key]
        mine = at_position.get(key, {})
        for position, step in [*mine.items()] or [(-1, s) for s in steps_of[key]]:
            upstream: list[StepKey] = []
            for dep in node.deps:
                if dep not in steps_of:
                    continue
                mapping = graph.partition_mapping(key, dep)
                if mapping is None or position < 0:
                    upstream.extend(steps_of[dep])  # an unpartitioned side: every step
                    continue
                definition, theirs = node.partitions, graph.nodes[dep].partitions
                assert definition is not None and theirs is not None
                read = mapping.upstream_ranges(
                    definition, [range(position, position + 1)], theirs, now
                )
                dep_steps = at_position[dep]
                upstream.extend(dep_steps[i] for r in read for i in r if i in dep_steps)
            steps[step] = PlannedStep(step, tuple(upstream), node.retry_policy, node.timeout)
            for parent in upstream:
                downstream.setdefault(parent, []).append(step)
    downstream_of = {k: tuple(v) for k, v in downstream.items()}
    return RunPlan(steps, downstream_of, max_parallel, infra_retries)


# Events the executor feeds in.


@dataclass(frozen=True)
class StepSucceeded:
    step: StepKey
    attempt: int


@dataclass(frozen=True)
class StepFailed:
    """An attempt failed. `infrastructure`: the step's code did not fail, its pod did: the
    container could not start, the pod was evicted or deleted, its node went away. Such
    attempts are retried up to `RunPlan.infra_retries` times, on top of the retry policy."""

    step: StepKey
    attempt: int
    message: str
    retryable: bool = True
    infrastructure: bool = False
    #: The step's code raised RetryRequested(max_retries, seconds_to_wait): retry up to
    #: that many times after that delay, whatever the retry policy says.
    retry_requested: RetryRequest | None = None


@dataclass(frozen=True)
class RetryRequest:
    max_retries: int
    delay: float = 0.0

    @classmethod
    def from_error(cls, error: Any) -> RetryRequest | None:
        """From the `error` of a STEP_FAILED event (`retryRequested: {maxRetries,
        delaySeconds}`), when the step's code raised RetryRequested."""
        request = error.get("retryRequested") if isinstance(error, Mapping) else None
        if not isinstance(request, Mapping):
            return None
        try:
            retries = max(0, min(100, int(request.get("maxRetries", 1))))
            delay = max(0.0, min(86400.0, float(request.get("delaySeconds") or 0.0)))
        except (TypeError, ValueError):
            return None
        return cls(retries, delay)


#: Why an attempt whose process exited 0 failed anyway: it never reported a success (it
#: called os._exit(0), or its runtime died after the exit). The retry policy applies.
NO_OUTCOME = "the step exited 0 without reporting an outcome"


@dataclass(frozen=True)
class Cancel:
    message: str = "canceled"


@dataclass(frozen=True)
class Tick:
    """Time passed: retries may be due, deadlines may have expired."""


Event = StepSucceeded | StepFailed | Cancel | Tick


# Actions the executor must take.


@dataclass(frozen=True)
class LaunchStep:
    step: StepKey
    attempt: int


@dataclass(frozen=True)
class StopStep:
    step: StepKey
    attempt: int
    reason: str


@dataclass(frozen=True)
class FinishRun:
    phase: RunPhase
    message: str


Action = LaunchStep | StopStep | FinishRun


@dataclass
class StepState:
    phase: StepPhase = StepPhase.PENDING
    attempts: int = 0
    retry_at: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    message: str | None = None
    #: Attempts the infrastructure lost, retried outside the retry policy.
    infra_retries: int = 0


class RunState:
    """Where every step of a run is, with the indexes that make each `advance` cost
    O(changed steps) rather than O(all steps). Executors persist the step states and
    rebuild a RunState from them after a restart."""

    def __init__(
        self,
        plan: RunPlan,
        steps: dict[StepKey, StepState] | None = None,
        phase: RunPhase = RunPhase.PENDING,
        message: str = "",
        cancel_message: str | None = None,
    ) -> None:
        self.plan = plan
        self.steps = {key: (steps or {}).get(key) or StepState() for key in plan.steps}
        self.phase = phase
        self.message = message
        self.cancel_message = cancel_message
        self._order = plan.position
        self._counts = dict.fromkeys(StepPhase, 0)
        self._blocked: dict[StepKey, int] = {}
        self._ready: list[tuple[int, StepKey]] = []
        self._running: dict[StepKey, None] = {}
        self._deadlines: list[tuple[float, int, StepKey, int]] = []
        for key, state in self.steps.items():
            self._counts[state.phase] += 1
            if state.phase is StepPhase.RUNNING:
                self._running[key] = None
                self._watch_deadline(key)
            self._blocked[key] = sum(
                1
                for up in plan.steps[key].upstream
                if self.steps[up].phase is not StepPhase.SUCCEEDED
            )
            if state.phase is StepPhase.PENDING and self._blocked[key] == 0:
                heapq.heappush(self._ready, (self._order[key], key))

    def set_phase(self, key: StepKey, phase: StepPhase) -> None:
        state = self.steps[key]
        if state.phase is phase:
            return
        self._counts[state.phase] -= 1
        self._counts[phase] += 1
        self._running.pop(key, None)
        if phase is StepPhase.RUNNING:
            self._running[key] = None
        state.phase = phase
        if phase is StepPhase.PENDING and self._blocked[key] == 0:
            heapq.heappush(self._ready, (self._order[key], key))
        if phase is StepPhase.SUCCEEDED:
            for down in self.plan.downstream.get(key, ()):
                self._blocked[down] -= 1
                if self._blocked[down] == 0 and self.steps[down].phase is StepPhase.PENDING:
                    heapq.heappush(self._ready, (self._order[down], down))

    def _watch_deadline(self, key: StepKey) -> None:
        timeout = self.plan.steps[key].timeout
        started = self.steps[key].started_at
        if timeout and started is not None:
            entry = (started + timeout, self._order[key], key, self.steps[key].attempts)
            heapq.heappush(self._deadlines, entry)

    def expired(self, now: float) -> list[StepKey]:
        """Running steps whose deadline has passed, dropping deadlines that no longer
        apply (the attempt they timed finished since)."""
        result: list[StepKey] = []
        while self._deadlines and self._deadlines[0][0] <= now:
            entry = heapq.heappop(self._deadlines)
            if self._deadline_applies(entry) and entry[2] not in result:
                result.append(entry[2])
        return result

    def has_ready(self) -> bool:
        """Whether some pending step has all its upstreams done (maybe waiting a retry)."""
        return any(self.steps[key].phase is StepPhase.PENDING for _, key in self._ready)

    def count(self, phase: StepPhase) -> int:
        return self._counts[phase]

    def counts(self) -> dict[str, int]:
        result = {phase.value.lower(): n for phase, n in self._counts.items()}
        result["total"] = len(self.steps)
        return result

    @property
    def running(self) -> list[StepKey]:
        return list(self._running)

    @property
    def unfinished(self) -> int:
        return self._counts[StepPhase.PENDING] + self._counts[StepPhase.RUNNING]

    def ready(self) -> Iterable[StepKey]:
        """Pending steps whose upstreams all succeeded, in plan order (may include steps
        still waiting for a retry delay)."""
        return list(
            dict.fromkeys(
                key for _, key in sorted(self._ready) if self.steps[key].phase is StepPhase.PENDING
            )
        )

    def next_wakeup(self) -> float | None:
        """The earliest time a `Tick` could change something: a retry or a deadline."""
        times = [
            retry_at
            for _, key in self._ready
            if (retry_at := self.steps[key].retry_at) is not None
            and self.steps[key].phase is StepPhase.PENDING
        ]
        while self._deadlines and not self._deadline_applies(self._deadlines[0]):
            heapq.heappop(self._deadlines)
        if self._deadlines:
            times.append(self._deadlines[0][0])
        return min(times, default=None)

    def _deadline_applies(self, entry: tuple[float, int, StepKey, int]) -> bool:
        _, _, key, attempt = entry
        state = self.steps[key]
        return state.phase is StepPhase.RUNNING and state.attempts == attempt


def advance(
    state: RunState, event: Event | None, now: float, capacity: int | None = None
) -> list[Action]:
    """Folds `event` into `state` and returns what to do next.

    `capacity` is how many more steps the executor may start now, beyond the run's own
    `maxParallel` (the operator's global limit); None means no such limit. Events for an
    attempt that is not the step's current running attempt are ignored, which makes
    replayed and late events harmless.
    """
    if state.phase.finished:
        return []
    actions: list[Action] = []
    if isinstance(event, StepSucceeded):
        _succeed(state, event, now)
    elif isinstance(event, StepFailed):
        _fail(state, event, now)
    elif isinstance(event, Cancel):
        state.cancel_message = state.cancel_message or event.message
    actions.extend(_expire_deadlines(state, now))
    if state.cancel_message is not None:
        actions.extend(_cancel(state, now))
    else:
        actions.extend(_launch_ready(state, now, capacity))
    finish = _finish_if_done(state)
    if finish:
        actions.append(finish)
    elif state.phase is RunPhase.PENDING and state.count(StepPhase.PENDING) < len(state.steps):
        state.phase = RunPhase.RUNNING
    return actions


def _current(state: RunState, step: StepKey, attempt: int) -> StepState | None:
    current = state.steps.get(step)
    if current is None or current.phase is not StepPhase.RUNNING or current.attempts != attempt:
        return None
    return current


def _succeed(state: RunState, event: StepSucceeded, now: float) -> None:
    current = _current(state, event.step, event.attempt)
    if current is not None:
        current.ended_at, current.message = now, None
        state.set_phase(event.step, StepPhase.SUCCEEDED)


def _fail(state: RunState, event: StepFailed, now: float) -> None:
    step, attempt = event.step, event.attempt
    current = _current(state, step, attempt)
    if current is None:
        return
    current.ended_at, current.message = now, event.message
    if state.cancel_message is None:
        if event.infrastructure and current.infra_retries < state.plan.infra_retries:
            current.infra_retries += 1
            current.retry_at = now + INFRA_RETRY_DELAY * 2 ** (current.infra_retries - 1)
            state.set_phase(step, StepPhase.PENDING)
            return
        policy = state.plan.steps[step].retry_policy
        own_attempt = attempt - current.infra_retries  # attempts the policy counts
        requested = event.retry_requested
        if requested is not None and own_attempt <= requested.max_retries:
            current.retry_at = now + requested.delay
            state.set_phase(step, StepPhase.PENDING)
            return
        if event.retryable and own_attempt <= policy.max_retries:
            current.retry_at = now + policy.delay_before(own_attempt + 1, str(step))
            state.set_phase(step, StepPhase.PENDING)
            return
    state.set_phase(step, StepPhase.FAILED)
    for downstream in state.plan.downstream_closure(step):
        waiting = state.steps[downstream]
        if waiting.phase is StepPhase.PENDING:
            waiting.message = f"upstream step {step} failed"
            state.set_phase(downstream, StepPhase.SKIPPED)


def _expire_deadlines(state: RunState, now: float) -> list[Action]:
    actions: list[Action] = []
    for key in state.expired(now):
        attempt = state.steps[key].attempts
        reason = f"timed out after {state.plan.steps[key].timeout:g}s"
        actions.append(StopStep(key, attempt, reason))
        _fail(state, StepFailed(key, attempt, reason), now)
    return actions


def _cancel(state: RunState, now: float) -> list[Action]:
    actions: list[Action] = []
    for key, current in state.steps.items():
        if current.phase is StepPhase.RUNNING:
            actions.append(StopStep(key, current.attempts, state.cancel_message or "canceled"))
        if not current.phase.finished:
            current.ended_at, current.message = now, state.cancel_message
            state.set_phase(key, StepPhase.CANCELED)
    return actions


def _launch_ready(state: RunState, now: float, capacity: int | None) -> list[Action]:
    budget = state.plan.max_parallel - state.count(StepPhase.RUNNING)
    if capacity is not None:
        budget = min(budget, capacity)
    actions: list[Action] = []
    deferred: list[tuple[int, StepKey]] = []
    while budget > 0 and state._ready:
        entry = heapq.heappop(state._ready)
        key = entry[1]
        current = state.steps[key]
        if current.phase is not StepPhase.PENDING:
            continue  # a stale entry: the step moved on since it was queued
        if current.retry_at is not None and current.retry_at > now:
            deferred.append(entry)
            continue
        current.attempts += 1
        current.started_at, current.ended_at, current.retry_at = now, None, None
        state.set_phase(key, StepPhase.RUNNING)
        state._watch_deadline(key)
        actions.append(LaunchStep(key, current.attempts))
        budget -= 1
    for entry in deferred:
        heapq.heappush(state._ready, entry)
    return actions


def _finish_if_done(state: RunState) -> FinishRun | None:
    if state.unfinished:
        return None
    failed = [(k, s) for k, s in state.steps.items() if s.phase is StepPhase.FAILED]
    if state.cancel_message is not None:
        state.phase, state.message = RunPhase.CANCELED, state.cancel_message
    elif failed:
        shown = "; ".join(f"{k}: {s.message}" for k, s in failed[:5])
        more = f" (and {len(failed) - 5} more)" if len(failed) > 5 else ""
        state.phase = RunPhase.FAILED
        state.message = f"{len(failed)} step(s) failed: {shown}{more}"
    else:
        state.phase = RunPhase.SUCCEEDED
        state.message = f"{len(state.steps)} step(s) succeeded"
    return FinishRun(state.phase, state.message)


def ready_order(steps: Iterable[StepKey], plan: RunPlan) -> list[StepKey]:
    """Steps in plan order (for display)."""
    wanted = set(steps)
    return [k for k in plan.steps if k in wanted]
