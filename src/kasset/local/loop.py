"""The one loop every local executor runs: ask `plan.advance` what to do, do it through
a `StepRunner`, feed back what happened, and block (never spin) until something can.

In-process and subprocess runs differ only in their runner, so both honour retries,
delays, timeouts, parallelism and cancellation exactly as the operator does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol

from kasset.definitions.keys import StepKey
from kasset.plan import (
    Action,
    Cancel,
    Event,
    FinishRun,
    LaunchStep,
    RunState,
    StopStep,
    Tick,
    advance,
)

__all__ = ["Observer", "StepRunner", "drive"]


class StepRunner(Protocol):
    """Starts and stops steps, and reports when they end."""

    def launch(self, step: StepKey, attempt: int) -> None: ...

    def stop(self, step: StepKey, attempt: int, reason: str) -> None: ...

    def wait(self, timeout: float | None) -> list[Event]:
        """Outcomes of steps that ended, blocking up to `timeout` seconds (None: until one
        ends) when there are none yet. May raise KeyboardInterrupt."""
        ...

    def running(self) -> int:
        """How many launched steps have not reported yet."""
        ...


class Observer(Protocol):
    """Watches a run go by (the progress display)."""

    refresh_interval: float | None

    def update(
        self, state: RunState, event: Event | None, actions: Sequence[Action], now: float
    ) -> None: ...


def drive(
    state: RunState,
    runner: StepRunner,
    *,
    observer: Observer | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> RunState:
    """Runs the plan of `state` to its end and returns the finished state. Ctrl-C cancels
    the run: running steps are stopped and the state ends Canceled."""
    pending: list[Event | None] = [None]
    while True:
        for event in pending:
            now = clock()
            actions = advance(state, event, now)
            for action in actions:
                if isinstance(action, LaunchStep):
                    runner.launch(action.step, action.attempt)
                elif isinstance(action, StopStep):
                    runner.stop(action.step, action.attempt, action.reason)
            if observer is not None:
                observer.update(state, event, actions, now)
            if any(isinstance(action, FinishRun) for action in actions):
                break
        if state.phase.finished:
            return state
        try:
            pending = list(runner.wait(_timeout(state, runner, observer, clock)))
        except KeyboardInterrupt:
            pending = [Cancel("interrupted (Ctrl-C)")]
            continue
        if not pending:
            pending = [Tick()]


def _timeout(
    state: RunState, runner: StepRunner, observer: Observer | None, clock: Callable[[], float]
) -> float | None:
    wakeup = state.next_wakeup()
    timeout = None if wakeup is None else max(0.0, wakeup - clock())
    refresh = observer.refresh_interval if observer is not None else None
    if refresh is not None:
        timeout = refresh if timeout is None else min(timeout, refresh)
    if timeout is None and not runner.running():
        # Nothing running and nothing due: advance would have launched what was ready.
        raise RuntimeError(f"run stalled with {state.unfinished} unfinished step(s)")
    return timeout
