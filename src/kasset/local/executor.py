"""The local executor behind `kasset materialize --local`: every step in its own
`python -m kasset.runtime` subprocess, as a pod would run it, without a cluster.

Storage is a local directory (default `./.kasset/storage`); each run keeps its step logs
and event files under `./.kasset/runs/<run id>/`.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from kasset.definitions.definitions import Definitions
from kasset.local.loading import CodeLocation
from kasset.local.loop import drive
from kasset.local.processes import SubprocessRunner
from kasset.local.progress import ProgressDisplay, format_summary
from kasset.local.run_config import check_run_config, run_config_json
from kasset.plan import Cancel, RunPhase, RunState, StepPhase, StopStep, advance, build_plan

__all__ = ["DEFAULT_HOME", "LocalRun", "new_run_id", "run_local"]

DEFAULT_HOME = Path(".kasset")


@dataclass
class LocalRun:
    """A finished local run: its state, where its files are, and every event reported."""

    run_id: str
    state: RunState
    run_dir: Path
    storage_dir: Path
    events: list[dict[str, Any]]
    elapsed: float

    @property
    def phase(self) -> RunPhase:
        return self.state.phase

    @property
    def success(self) -> bool:
        return self.state.phase is RunPhase.SUCCEEDED


def new_run_id(now: datetime | None = None) -> str:
    """`local-20240102-030405-1a2b`: sortable, unique enough, a valid Kubernetes name."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"local-{stamp}-{secrets.token_hex(2)}"


def run_local(
    defs: Definitions,
    location: CodeLocation,
    *,
    selection: str | None = None,
    partitions: Sequence[str] | None = None,
    max_parallel: int | None = None,
    home: Path = DEFAULT_HOME,
    storage_dir: Path | None = None,
    run_id: str | None = None,
    stream: TextIO | None = None,
    tty: bool | None = None,
    python: str = sys.executable,
    grace_seconds: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
    run_config: Any = None,
    tags: Mapping[str, str] | None = None,
) -> LocalRun:
    """Plans the run in this process (so definition and selection mistakes surface
    here, as DefinitionErrors), then runs every step as a subprocess."""
    plan = build_plan(
        defs.graph, selection, partitions, max_parallel=max_parallel or os.cpu_count() or 1
    )
    check_run_config(defs, {step.asset for step in plan.steps}, run_config)
    env = dict(os.environ)
    config_json = run_config_json(run_config)
    if config_json:
        env["KASSET_RUN_CONFIG"] = config_json
    if tags:
        env["KASSET_RUN_TAGS"] = json.dumps(dict(tags))
    run_id = run_id or new_run_id()
    home = home.resolve()
    storage = (storage_dir or home / "storage").resolve()
    storage.mkdir(parents=True, exist_ok=True)
    run_dir = home / "runs" / run_id
    runner = SubprocessRunner(
        run_id=run_id,
        code=location.to_string(),
        storage_uri=str(storage),
        run_dir=run_dir,
        path_entry=location.path_entry,
        cwd=os.getcwd(),
        python=python,
        env=env,
        grace_seconds=grace_seconds,
    )
    out = stream or sys.stdout
    start = clock()
    display = ProgressDisplay(out, tty=tty, start=start)
    out.write(
        f"run {run_id}: {len(plan)} step(s), up to {plan.max_parallel} at a time; "
        f"logs in {_shown(run_dir)}\n"
    )
    state = RunState(plan)
    try:
        with _sigterm_as_interrupt():
            drive(state, runner, observer=display, clock=clock)
    except KeyboardInterrupt:
        # Ctrl-C outside the wait (while launching, say): cancel what is left.
        for action in advance(state, Cancel("interrupted (Ctrl-C)"), clock()):
            if isinstance(action, StopStep):
                runner.stop(action.step, action.attempt, action.reason)
    finally:
        display.close()
        runner.shutdown()
    elapsed = clock() - start
    out.write(format_summary(state, run_id, elapsed) + "\n")
    failed = [
        key
        for key, step in state.steps.items()
        if step.phase is StepPhase.FAILED and key in runner.logs
    ]
    for key in failed[:10]:
        out.write(f"log of {key}: {_shown(runner.logs[key])}\n")
    out.flush()
    return LocalRun(run_id, state, run_dir, storage, runner.events, elapsed)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """`kill <pid>` cancels the run like Ctrl-C, so children are not left behind."""
    if sys.platform == "win32" or not _in_main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
