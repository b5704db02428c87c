"""Step plumbing of `kasset dev`: a StepRunner that turns the UI's Cancel button into
the plan's `Cancel` event, and incremental reads of a step's log file."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from kasset.definitions.keys import StepKey
from kasset.local.processes import SubprocessRunner
from kasset.plan import Cancel, Event

__all__ = ["POLL_SECONDS", "CancelOnRequest", "read_from"]

POLL_SECONDS = 0.2


class CancelOnRequest:
    """A StepRunner that turns the UI's Cancel button into the plan's `Cancel` event."""

    def __init__(self, runner: SubprocessRunner, cancel: threading.Event) -> None:
        self.runner = runner
        self.cancel = cancel
        self.delivered = False

    def launch(self, step: StepKey, attempt: int) -> None:
        self.runner.launch(step, attempt)

    def stop(self, step: StepKey, attempt: int, reason: str) -> None:
        self.runner.stop(step, attempt, reason)

    def running(self) -> int:
        return self.runner.running()

    def wait(self, timeout: float | None) -> list[Event]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self.cancel.is_set() and not self.delivered:
                self.delivered = True
                return [Cancel("canceled from the UI")]
            left = (
                POLL_SECONDS
                if deadline is None
                else max(0.0, min(POLL_SECONDS, deadline - time.monotonic()))
            )
            events = self.runner.wait(left)
            if events or (deadline is not None and time.monotonic() >= deadline):
                return events


def read_from(path: Path, position: int, limit: int = 256 * 1024) -> bytes:
    try:
        with path.open("rb") as handle:
            handle.seek(position)
            return handle.read(limit)
    except FileNotFoundError:
        return b""
