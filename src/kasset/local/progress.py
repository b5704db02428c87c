"""What the local executor shows while it runs and when it ends.

On a terminal: one status line, redrawn, with failures, retries and stops printed above
it. Elsewhere (CI logs, pipes): one plain line per transition. At the end: a table.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from typing import TextIO

from kasset.definitions.keys import StepKey
from kasset.plan import (
    Action,
    Cancel,
    Event,
    LaunchStep,
    RunState,
    StepFailed,
    StepPhase,
    StepSucceeded,
    StopStep,
)

__all__ = ["ProgressDisplay", "format_summary"]

_MAX_SUMMARY_ROWS = 40
_MAX_RUNNING_SHOWN = 3


class ProgressDisplay:
    """The executor's `Observer`: reports transitions as they happen."""

    def __init__(
        self, stream: TextIO | None = None, *, tty: bool | None = None, start: float = 0.0
    ) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.refresh_interval: float | None = 0.5 if self.tty else None
        self.start = start
        self._status_shown = False

    def update(
        self, state: RunState, event: Event | None, actions: Sequence[Action], now: float
    ) -> None:
        lines = self._transitions(state, event, actions, now)
        if self.tty:
            self._clear_status()
            for line in lines:
                # The status line shows what runs and how many succeeded; only what
                # needs attention scrolls by.
                if not line.startswith(("started ", "succeeded ")):
                    self.stream.write(line + "\n")
            if not state.phase.finished:
                self._write_status(state, now)
        else:
            for line in lines:
                self.stream.write(f"[{now - self.start:7.2f}s] {line}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self._clear_status()
            self.stream.flush()

    def _transitions(
        self, state: RunState, event: Event | None, actions: Sequence[Action], now: float
    ) -> list[str]:
        lines: list[str] = []
        if isinstance(event, StepSucceeded | StepFailed):
            lines.extend(_outcome_lines(state, event, now))
        elif isinstance(event, Cancel):
            lines.append(f"canceling: {event.message}")
        for action in actions:
            if isinstance(action, LaunchStep):
                lines.append(f"started {action.step} (attempt {action.attempt})")
            elif isinstance(action, StopStep):
                lines.append(f"stopping {action.step} (attempt {action.attempt}): {action.reason}")
        return lines

    def _write_status(self, state: RunState, now: float) -> None:
        running = [str(k) for k in state.running]
        shown = ", ".join(running[:_MAX_RUNNING_SHOWN])
        if len(running) > _MAX_RUNNING_SHOWN:
            shown += f", +{len(running) - _MAX_RUNNING_SHOWN}"
        parts = [
            f"{now - self.start:6.1f}s",
            f"{state.count(StepPhase.SUCCEEDED)}/{len(state.steps)} succeeded",
        ]
        if running:
            parts.append(f"running: {shown}")
        for phase in (StepPhase.FAILED, StepPhase.SKIPPED):
            if state.count(phase):
                parts.append(f"{state.count(phase)} {phase.value.lower()}")
        width = shutil.get_terminal_size((100, 20)).columns - 1
        self.stream.write("  ".join(parts)[:width])
        self._status_shown = True

    def _clear_status(self) -> None:
        if self._status_shown:
            self.stream.write("\r\x1b[K")
            self._status_shown = False


def _outcome_lines(state: RunState, event: StepSucceeded | StepFailed, now: float) -> list[str]:
    current = state.steps.get(event.step)
    if current is None or current.attempts != event.attempt:
        return []  # a late report of an attempt the plan already gave up on
    took = f" in {_duration(current.started_at, now)}" if current.started_at is not None else ""
    if isinstance(event, StepSucceeded):
        return [f"succeeded {event.step}{took}"] if current.phase is StepPhase.SUCCEEDED else []
    if current.phase is StepPhase.PENDING and current.retry_at is not None:
        wait = max(0.0, current.retry_at - now)
        return [
            f"failed {event.step} (attempt {event.attempt}){took}: {event.message}; "
            f"retrying in {wait:.3g}s"
        ]
    if current.phase is not StepPhase.FAILED:
        return []
    lines = [f"FAILED {event.step}{took}: {event.message}"]
    skipped = [
        k
        for k in state.plan.downstream_closure(event.step)
        if state.steps[k].phase is StepPhase.SKIPPED
        and state.steps[k].message == f"upstream step {event.step} failed"
    ]
    if skipped:
        lines.append(f"skipped {_names(skipped)} (upstream {event.step} failed)")
    return lines


def _names(keys: Sequence[StepKey], limit: int = 5) -> str:
    names = ", ".join(str(k) for k in keys[:limit])
    return names + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def _duration(start: float | None, end: float | None) -> str:
    if start is None or end is None:
        return "-"
    seconds = end - start
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:04.1f}s"


def format_summary(state: RunState, run_id: str, elapsed: float) -> str:
    """The table printed when a run ends: one row per step, failures first when long."""
    keys = list(state.steps)
    hidden = 0
    if len(keys) > _MAX_SUMMARY_ROWS:
        unusual = [k for k in keys if state.steps[k].phase is not StepPhase.SUCCEEDED]
        hidden = len(keys) - len(unusual[:_MAX_SUMMARY_ROWS])
        keys = unusual[:_MAX_SUMMARY_ROWS]
    rows = [("STEP", "PHASE", "ATTEMPTS", "DURATION", "MESSAGE")]
    for key in keys:
        step = state.steps[key]
        duration = _duration(step.started_at, step.ended_at) if step.attempts else "-"
        rows.append(
            (
                str(key),
                step.phase.value,
                str(step.attempts),
                duration,
                (step.message or "").replace("\n", " ")[:120],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(
            [*(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)), row[4]]
        ).rstrip()
        for row in rows
    ]
    if hidden:
        lines.append(f"... and {hidden} more step(s) not shown (succeeded or over the limit)")
    lines.append(f"run {run_id} {state.phase.value} in {_duration(0.0, elapsed)}: {state.message}")
    return "\n".join(lines)
