"""Step subprocesses: environment, outcomes from exit status and events, stop and reap.

A stand-in for `python -m kasset.runtime` (a script that behaves as its step name says)
keeps these tests independent of the real runtime.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import sys
import time
from pathlib import Path

import pytest

from kasset import AssetKey
from kasset.definitions import StepKey
from kasset.local.processes import SubprocessRunner, outcome_of, read_events, step_file_stem
from kasset.plan import NO_OUTCOME, StepFailed, StepSucceeded

FAKE_RUNTIME = f"""#!{sys.executable}
import json, os, signal, sys, time
assert sys.argv[1:] == ["-m", "kasset.runtime"], sys.argv
step = os.environ["KASSET_STEP"]
events = open(os.environ["KASSET_EVENT_FILE"], "a")
run, attempt = os.environ["KASSET_RUN"], int(os.environ["KASSET_ATTEMPT"])
def emit(type_, step=step, **payload):
    event = {{"type": type_, "run": run, "step": step, "attempt": attempt, "payload": payload}}
    events.write(json.dumps(event) + "\\n")
    events.flush()
names = ("KASSET_RUN", "KASSET_ATTEMPT", "KASSET_CODE", "KASSET_STORAGE_URI")
emit("STEP_STARTED", metadata=dict((k, os.environ[k]) for k in names))
print("log line from", step)
if step == "ok":
    emit("STEP_SUCCEEDED")
elif step == "fail":
    emit("STEP_FAILED", error={{"type": "ValueError", "message": "bad row", "retryable": False}})
    sys.exit(1)
elif step == "hang":
    time.sleep(60)
elif step == "killed":
    os.kill(os.getpid(), signal.SIGKILL)
elif step == "usage":
    print("no such code location", file=sys.stderr)
    sys.exit(2)
elif step == "silent":
    os._exit(0)
elif step == "speaks-for-another":
    emit("STEP_SUCCEEDED", step="silent")
    os._exit(0)
elif step == "chatty":
    for _ in range(20000):
        sys.stdout.write("y" * 999 + "\\n")
    print("the last line")
    sys.exit(3)
"""


@pytest.fixture
def runner(tmp_path: Path) -> SubprocessRunner:
    fake = tmp_path / "fake-python"
    fake.write_text(FAKE_RUNTIME)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return SubprocessRunner(
        run_id="run-1",
        code="pkg.defs:defs",
        storage_uri="/tmp/storage",
        run_dir=tmp_path / "run",
        path_entry=str(tmp_path),
        python=str(fake),
        grace_seconds=1.0,
    )


def step(name: str) -> StepKey:
    return StepKey(AssetKey(name))


def wait_for(runner: SubprocessRunner, count: int) -> list[object]:
    outcomes: list[object] = []
    deadline = time.monotonic() + 20
    while len(outcomes) < count and time.monotonic() < deadline:
        outcomes += runner.wait(1.0)
    return outcomes


def test_a_child_gets_the_runtime_environment_and_its_events_are_read(
    runner: SubprocessRunner,
) -> None:
    runner.launch(step("ok"), 3)
    assert runner.running() == 1
    assert wait_for(runner, 1) == [StepSucceeded(step("ok"), 3)]
    assert runner.running() == 0
    started = runner.events[0]["payload"]["metadata"]
    assert started == {
        "KASSET_RUN": "run-1",
        "KASSET_ATTEMPT": "3",
        "KASSET_CODE": "pkg.defs:defs",
        "KASSET_STORAGE_URI": "/tmp/storage",
    }
    log = next((runner.run_dir / "logs").iterdir()).read_text()
    assert "log line from ok" in log


def test_a_reported_failure_keeps_its_message_and_retryability(runner: SubprocessRunner) -> None:
    runner.launch(step("fail"), 1)
    assert wait_for(runner, 1) == [StepFailed(step("fail"), 1, "ValueError: bad row", False)]


def test_a_killed_child_fails_retryably(runner: SubprocessRunner) -> None:
    runner.launch(step("killed"), 1)
    (outcome,) = wait_for(runner, 1)
    assert isinstance(outcome, StepFailed)
    assert outcome.message.startswith("killed by SIGKILL") and outcome.retryable


def test_exit_status_2_is_not_retried_and_shows_the_last_log_line(runner: SubprocessRunner) -> None:
    runner.launch(step("usage"), 1)
    assert wait_for(runner, 1) == [
        StepFailed(step("usage"), 1, "exited with status 2: no such code location", False)
    ]


def test_stop_terminates_a_child_and_its_report_says_why(runner: SubprocessRunner) -> None:
    runner.launch(step("hang"), 1)
    assert runner.wait(0.3) == []
    started = time.monotonic()
    runner.stop(step("hang"), 1, "timed out after 1s")
    assert wait_for(runner, 1) == [StepFailed(step("hang"), 1, "timed out after 1s", True)]
    assert time.monotonic() - started < 5


def test_shutdown_reaps_every_child(runner: SubprocessRunner) -> None:
    runner.launch(step("hang"), 1)
    runner.launch(step("hang"), 2)
    pids = [child.process.pid for child in runner.children.values()]
    runner.shutdown()
    assert runner.running() == 0
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_exit_0_without_a_reported_success_is_a_retryable_failure(
    runner: SubprocessRunner,
) -> None:
    runner.launch(step("silent"), 1)
    assert wait_for(runner, 1) == [StepFailed(step("silent"), 1, NO_OUTCOME, True)]


def test_a_child_cannot_report_for_another_step(runner: SubprocessRunner) -> None:
    runner.launch(step("speaks-for-another"), 1)
    assert wait_for(runner, 1) == [StepFailed(step("speaks-for-another"), 1, NO_OUTCOME, True)]
    assert [e for e in runner.events if e["step"] == "silent"] == []


def test_a_failed_childs_message_reads_only_the_tail_of_a_big_log(
    runner: SubprocessRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_whole: list[Path] = []
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: read_whole.append(self) or "")
    monkeypatch.setattr(Path, "read_bytes", lambda self: read_whole.append(self) or b"")
    runner.launch(step("chatty"), 1)
    (outcome,) = wait_for(runner, 1)
    assert isinstance(outcome, StepFailed)
    assert outcome.message == "exited with status 3: the last line"
    assert [path for path in read_whole if path.suffix == ".log"] == []


def test_outcome_without_events_falls_back_to_the_exit_status() -> None:
    assert outcome_of(step("a"), 1, 0, []) == StepFailed(step("a"), 1, NO_OUTCOME, True)
    assert outcome_of(step("a"), 1, 0, [{"type": "STEP_SUCCEEDED"}]) == StepSucceeded(step("a"), 1)
    assert outcome_of(step("a"), 1, 1, []) == StepFailed(step("a"), 1, "exited with status 1", True)
    assert outcome_of(step("a"), 2, -signal.SIGTERM, []) == StepFailed(
        step("a"), 2, "killed by SIGTERM", True
    )


def test_read_events_skips_a_line_cut_short(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps({"type": "STEP_STARTED"}) + "\n" + '{"type": "STEP_SUCC')
    assert read_events(path) == [{"type": "STEP_STARTED"}]
    assert read_events(tmp_path / "missing.jsonl") == []


def test_step_file_names_are_safe_and_distinct() -> None:
    one = step_file_stem(StepKey(AssetKey(["a", "b"]), "2024-01-01-00:00"), 1)
    other = step_file_stem(StepKey(AssetKey("a_b"), "2024-01-01-00:00"), 1)
    assert one != other
    assert all(c.isalnum() or c in "_.-" for c in one)
    assert one.endswith(".1")
