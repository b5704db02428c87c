"""Step subprocesses for the local executor: `python -m kasset.runtime`, one per attempt.

A child learns what to run from the environment (the runtime contract shared with step
pods), writes its events to a JSON-lines file, and its exit status says how it ended. A
waiter thread per child turns its exit into a queue item, so the executor blocks on the
queue instead of polling.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kasset.definitions.keys import StepKey
from kasset.plan import NO_OUTCOME, Event, RetryRequest, StepFailed, StepSucceeded

__all__ = ["StepProcess", "SubprocessRunner", "outcome_of", "read_events", "step_file_stem"]

EXIT_SUCCEEDED = 0
EXIT_STEP_FAILED = 1
EXIT_USAGE = 2
BLOCKING_CHECK_FAILED = "BlockingCheckFailed"  # kasset.runtime.events.ERROR_TYPE_BLOCKING_CHECK
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_TAIL_BYTES = 4096


def step_file_stem(step: StepKey, attempt: int) -> str:
    """A file name for one attempt of a step: readable, and unique even where
    sanitising folds two keys together (`a/b` and `a_b`)."""
    text = step.to_string()
    digest = hashlib.sha256(text.encode()).hexdigest()[:6]
    return f"{_UNSAFE.sub('_', text)[:80]}-{digest}.{attempt}"


@dataclass
class StepProcess:
    """One running attempt of one step."""

    step: StepKey
    attempt: int
    process: subprocess.Popen[bytes]
    event_file: Path
    log_file: Path
    stop_reason: str | None = None
    kill_timer: threading.Timer | None = field(default=None, repr=False)


class SubprocessRunner:
    """Launches, stops and reaps step subprocesses (the `StepRunner` of `loop.drive`)."""

    def __init__(
        self,
        *,
        run_id: str,
        code: str,
        storage_uri: str,
        run_dir: Path,
        path_entry: str | None = None,
        cwd: str | None = None,
        python: str = sys.executable,
        env: dict[str, str] | None = None,
        grace_seconds: float = 5.0,
    ) -> None:
        self.run_id = run_id
        self.code = code
        self.storage_uri = storage_uri
        self.run_dir = run_dir
        self.cwd = cwd
        self.python = python
        self.grace_seconds = grace_seconds
        self.events: list[dict[str, Any]] = []
        self.children: dict[tuple[StepKey, int], StepProcess] = {}
        self.logs: dict[StepKey, Path] = {}
        """The log file of each step's latest attempt."""
        self._ended: queue.SimpleQueue[StepProcess] = queue.SimpleQueue()
        base = dict(os.environ if env is None else env)
        if path_entry:
            # Where the code location's top package lives (the runtime puts it on sys.path).
            existing = base.get("KASSET_PYTHONPATH")
            base["KASSET_PYTHONPATH"] = os.pathsep.join(filter(None, [path_entry, existing]))
        base.setdefault("PYTHONUNBUFFERED", "1")
        self._env = base
        (run_dir / "events").mkdir(parents=True, exist_ok=True)
        (run_dir / "logs").mkdir(parents=True, exist_ok=True)

    def launch(self, step: StepKey, attempt: int) -> None:
        stem = step_file_stem(step, attempt)
        event_file = self.run_dir / "events" / f"{stem}.jsonl"
        log_file = self.run_dir / "logs" / f"{stem}.log"
        env = {
            **self._env,
            "KASSET_RUN": self.run_id,
            "KASSET_STEP": step.to_string(),
            "KASSET_ATTEMPT": str(attempt),
            "KASSET_CODE": self.code,
            "KASSET_STORAGE_URI": self.storage_uri,
            "KASSET_EVENT_FILE": str(event_file),
        }
        with log_file.open("wb") as log:
            # A session of its own: Ctrl-C reaches only the executor, which then stops
            # the children itself (and can tell a cancel from a crash).
            process = subprocess.Popen(
                [self.python, "-m", "kasset.runtime"],
                env=env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        child = StepProcess(step, attempt, process, event_file, log_file)
        self.logs[step] = log_file
        self.children[(step, attempt)] = child
        threading.Thread(
            target=self._reap, args=(child,), daemon=True, name=f"kasset-wait-{process.pid}"
        ).start()

    def _reap(self, child: StepProcess) -> None:
        child.process.wait()
        self._ended.put(child)

    def stop(self, step: StepKey, attempt: int, reason: str) -> None:
        child = self.children.get((step, attempt))
        if child is None or child.process.poll() is not None:
            return
        child.stop_reason = reason
        _signal(child.process, signal.SIGTERM)
        child.kill_timer = threading.Timer(
            self.grace_seconds, _signal, (child.process, signal.SIGKILL)
        )
        child.kill_timer.daemon = True
        child.kill_timer.start()

    def wait(self, timeout: float | None) -> list[Event]:
        try:
            ended = [self._ended.get(timeout=timeout)]
        except queue.Empty:
            return []
        while not self._ended.empty():
            ended.append(self._ended.get_nowait())
        return [self._finish(child) for child in ended]

    def _finish(self, child: StepProcess) -> Event:
        if self.children.pop((child.step, child.attempt), None) is None:
            return outcome_of(child.step, child.attempt, child.process.returncode, [])
        if child.kill_timer is not None:
            child.kill_timer.cancel()
        events = self.own_events(child, read_events(child.event_file))
        self.events.extend(events)
        return outcome_of(
            child.step,
            child.attempt,
            child.process.returncode,
            events,
            child.log_file,
            child.stop_reason,
        )

    def own_events(self, child: StepProcess, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The events of the child's own step attempt: its code can write the file, but
        it speaks only for itself (the rule the operator applies to pods)."""
        step = child.step.to_string()
        return [
            event
            for event in events
            if event.get("run") == self.run_id
            and event.get("step") == step
            and event.get("attempt") == child.attempt
        ]

    def running(self) -> int:
        return len(self.children)

    def shutdown(self) -> None:
        """Stops every child still running and waits for it (SIGKILL after the grace)."""
        for child in list(self.children.values()):
            if child.process.poll() is None:
                child.stop_reason = child.stop_reason or "run ended"
                _signal(child.process, signal.SIGTERM)
        deadline = time.monotonic() + self.grace_seconds
        try:
            for child in list(self.children.values()):
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.process.wait(max(0.0, deadline - time.monotonic()))
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: no more grace
        for child in list(self.children.values()):
            _signal(child.process, signal.SIGKILL)
            child.process.wait()
            self._finish(child)  # keeps the events it managed to write


def _signal(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)  # the step's own children go too


def read_events(path: Path) -> list[dict[str, Any]]:
    """The events a child wrote; a line cut short by a kill is skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    events = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def outcome_of(
    step: StepKey,
    attempt: int,
    returncode: int,
    events: list[dict[str, Any]],
    log_file: Path | None = None,
    stop_reason: str | None = None,
) -> Event:
    """What the plan should hear about an attempt that exited with `returncode`: exit 0
    is a success only with a reported STEP_SUCCEEDED (`NO_OUTCOME` otherwise)."""
    if returncode == EXIT_SUCCEEDED:
        if any(event.get("type") == "STEP_SUCCEEDED" for event in events):
            return StepSucceeded(step, attempt)
        if stop_reason is None:
            return StepFailed(step, attempt, NO_OUTCOME, retryable=True)
    error = _reported_error(events)
    if stop_reason is not None:
        return StepFailed(step, attempt, stop_reason, retryable=True)
    if returncode < 0:
        name = signal.Signals(-returncode).name if -returncode in signal.valid_signals() else ""
        why = f"killed by {name or f'signal {-returncode}'}"
        if name == "SIGKILL":
            why += " (out of memory?)"
        return StepFailed(step, attempt, why, retryable=True)
    if error is not None:
        kind, text = error.get("type") or "Error", error.get("message") or ""
        # A blocking check's message already says what failed; a user error needs its type.
        message = text if kind == BLOCKING_CHECK_FAILED else f"{kind}: {text}".strip()
        retryable = bool(error.get("retryable", True))
        return StepFailed(step, attempt, message, retryable, False, RetryRequest.from_error(error))
    tail = _log_tail(log_file)
    message = f"exited with status {returncode}" + (f": {tail}" if tail else "")
    # Status 2 is a usage or code-location error: the same code will fail the same way.
    return StepFailed(step, attempt, message, retryable=returncode != EXIT_USAGE)


def _reported_error(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    for event in reversed(events):
        payload = event.get("payload") or {}
        if event.get("type") == "STEP_FAILED":
            error = payload.get("error")
            if isinstance(error, dict):
                return error
            return {"type": "StepFailed", "message": payload.get("message") or "step failed"}
    return None


def _log_tail(log_file: Path | None) -> str:
    """The last line of the log (at most 300 characters), reading only its last 4 KiB:
    a step may have written gigabytes."""
    if log_file is None:
        return ""
    try:
        with log_file.open("rb") as log:
            size = log.seek(0, os.SEEK_END)
            log.seek(max(0, size - _TAIL_BYTES))
            tail = log.read(_TAIL_BYTES)
    except FileNotFoundError:
        return ""
    lines = tail.decode("utf-8", errors="replace").strip().splitlines()
    return lines[-1][:300] if lines else ""
