"""`drive`: the loop shared by the local executors, with a scripted runner and clock."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from kasset import AssetKey, RetryPolicy
from kasset.definitions import StepKey
from kasset.graph import AssetGraph, AssetNode
from kasset.local.loop import drive
from kasset.plan import (
    Action,
    Event,
    RunPhase,
    RunState,
    StepFailed,
    StepPhase,
    StepSucceeded,
    build_plan,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class ScriptedRunner:
    """Steps end in launch order; a step named in `failures` fails that many times.
    Waiting advances the fake clock instead of sleeping."""

    def __init__(
        self,
        clock: FakeClock,
        failures: dict[str, int] | None = None,
        hang: Sequence[str] = (),
        interrupt_after: int | None = None,
    ) -> None:
        self.clock = clock
        self.failures = dict(failures or {})
        self.hang = set(hang)
        self.interrupt_after = interrupt_after
        self.queue: list[Event] = []
        self.launched: list[tuple[str, int, float]] = []
        self.stopped: list[tuple[str, int, str]] = []
        self.waits: list[float | None] = []
        self.in_flight: set[tuple[StepKey, int]] = set()

    def launch(self, step: StepKey, attempt: int) -> None:
        self.launched.append((str(step), attempt, self.clock.now))
        self.in_flight.add((step, attempt))
        if str(step) in self.hang:
            return
        if self.failures.get(str(step), 0) >= attempt:
            self.queue.append(StepFailed(step, attempt, f"failure {attempt}"))
        else:
            self.queue.append(StepSucceeded(step, attempt))

    def stop(self, step: StepKey, attempt: int, reason: str) -> None:
        self.stopped.append((str(step), attempt, reason))
        self.in_flight.discard((step, attempt))

    def wait(self, timeout: float | None) -> list[Event]:
        self.waits.append(timeout)
        if self.interrupt_after is not None and len(self.waits) > self.interrupt_after:
            raise KeyboardInterrupt
        if self.queue:
            events, self.queue = self.queue[:1], self.queue[1:]
            event = events[0]
            assert isinstance(event, StepSucceeded | StepFailed)
            self.in_flight.discard((event.step, event.attempt))
            return events
        assert timeout is not None, "would block forever"
        self.clock.now += timeout
        return []

    def running(self) -> int:
        return len(self.in_flight)


NO_RETRIES = RetryPolicy(max_retries=0)


def plan_of(
    *names: str,
    policy: RetryPolicy = NO_RETRIES,
    timeout: float | None = None,
    max_parallel: int = 1,
) -> RunState:
    nodes = [
        AssetNode(
            AssetKey(n),
            (AssetKey(names[i - 1]),) if i else (),
            retry_policy=policy,
            timeout=timeout,
        )
        for i, n in enumerate(names)
    ]
    return RunState(build_plan(AssetGraph(nodes), max_parallel=max_parallel))


def test_drive_runs_a_chain_in_order() -> None:
    clock = FakeClock()
    runner = ScriptedRunner(clock)
    state = drive(plan_of("a", "b", "c"), runner, clock=clock)
    assert state.phase is RunPhase.SUCCEEDED
    assert [name for name, _, _ in runner.launched] == ["a", "b", "c"]
    assert runner.waits == [None, None, None]  # blocked on outcomes, never polled


def test_drive_sleeps_exactly_until_a_retry_is_due() -> None:
    clock = FakeClock()
    runner = ScriptedRunner(clock, failures={"a": 2})
    state = drive(
        plan_of("a", policy=RetryPolicy(max_retries=2, delay=5, backoff=2)), runner, clock=clock
    )
    assert state.phase is RunPhase.SUCCEEDED
    assert [(attempt, at) for _, attempt, at in runner.launched] == [(1, 0), (2, 5), (3, 15)]
    assert runner.waits == [None, 5, None, 10, None]


def test_drive_stops_a_step_that_outlives_its_timeout() -> None:
    clock = FakeClock()
    runner = ScriptedRunner(clock, hang=["slow"])
    state = drive(plan_of("slow", "after", timeout=30), runner, clock=clock)
    assert state.phase is RunPhase.FAILED
    assert runner.stopped == [("slow", 1, "timed out after 30s")]
    assert state.steps[StepKey(AssetKey("after"))].phase is StepPhase.SKIPPED


def test_ctrl_c_while_waiting_cancels_the_run_and_stops_running_steps() -> None:
    clock = FakeClock()
    runner = ScriptedRunner(clock, hang=["a"], interrupt_after=0)
    state = drive(plan_of("a", "b"), runner, clock=clock)
    assert state.phase is RunPhase.CANCELED
    assert state.message == "interrupted (Ctrl-C)"
    assert runner.stopped == [("a", 1, "interrupted (Ctrl-C)")]


def test_observer_sees_every_advance_and_sets_the_refresh_interval() -> None:
    class Recorder:
        refresh_interval = 0.5

        def __init__(self) -> None:
            self.seen: list[tuple[str, int]] = []

        def update(
            self, state: RunState, event: Event | None, actions: Sequence[Action], now: float
        ) -> None:
            self.seen.append((type(event).__name__, len(actions)))

    clock = FakeClock()
    recorder = Recorder()
    runner = ScriptedRunner(clock)
    drive(plan_of("a", "b"), runner, observer=recorder, clock=clock)
    assert recorder.seen == [("NoneType", 1), ("StepSucceeded", 1), ("StepSucceeded", 1)]
    assert runner.waits == [0.5, 0.5]


def test_a_runner_that_loses_a_step_is_reported_not_waited_on_forever() -> None:
    class LosingRunner(ScriptedRunner):
        def launch(self, step: StepKey, attempt: int) -> None:
            pass  # forgets it

    clock = FakeClock()
    with pytest.raises(RuntimeError, match="stalled"):
        drive(plan_of("a"), LosingRunner(clock), clock=clock)
