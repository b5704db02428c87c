"""The local executor: real `python -m kasset.runtime` subprocesses, driven by the plan."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kasset import AssetKey
from kasset.definitions import StepKey
from kasset.local.executor import LocalRun, new_run_id, run_local
from kasset.local.loading import load_definitions
from kasset.plan import RunPhase, StepPhase

PROJECT = """
import os, time
from pathlib import Path
from kasset import AssetExecutionContext, Definitions, RetryPolicy, asset

HERE = Path(__file__).parent

@asset
def numbers():
    return [1, 2, 3]

@asset
def total(numbers):
    return sum(numbers)

def _meet(me, other):
    (HERE / me).write_text("here")
    deadline = time.monotonic() + 30
    while not (HERE / other).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{other} never ran alongside {me}")
        time.sleep(0.02)
    return me

@asset(group="pair")
def left():
    return _meet("left.mark", "right.mark")

@asset(group="pair")
def right():
    return _meet("right.mark", "left.mark")

@asset(group="flaky", retry_policy=RetryPolicy(max_retries=1, delay=0.5))
def flaky(context: AssetExecutionContext):
    if context.attempt == 1:
        raise ConnectionError("first attempt fails")
    return context.attempt

@asset(group="slow", timeout=1)
def sleepy():
    (HERE / "sleepy.pid").write_text(str(os.getpid()))
    time.sleep(60)

@asset(group="slow")
def after_sleepy(sleepy):
    return sleepy

@asset
def hangs():
    (HERE / "hangs.pid").write_text(str(os.getpid()))
    time.sleep(60)

defs = Definitions(assets=[numbers, total, left, right, flaky, sleepy, after_sleepy, hangs])
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "exec_project.py").write_text(PROJECT)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    sys.modules.pop("exec_project", None)
    while str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))


def run(project: Path, selection: str, jobs: int = 1) -> tuple[LocalRun, str]:
    location, defs = load_definitions("exec_project", cwd=project)
    out = io.StringIO()
    result = run_local(
        defs,
        location,
        selection=selection,
        max_parallel=jobs,
        home=project / ".kasset",
        stream=out,
        tty=False,
        grace_seconds=2,
    )
    return result, out.getvalue()


def phase(result: LocalRun, name: str) -> StepPhase:
    return result.state.steps[StepKey(AssetKey(name))].phase


def load(result: LocalRun, name: str) -> object:
    from kasset.runtime.io_managers import FilesystemIOManager, InputContext

    manager = FilesystemIOManager(str(result.storage_dir))
    return manager.load_input(InputContext(AssetKey(name)))


def test_a_chain_runs_step_by_step_and_stores_values(project: Path) -> None:
    result, output = run(project, "numbers+")
    assert result.success, output
    assert load(result, "total") == 6
    assert [e["type"] for e in result.events if e["step"] == "total"] == [
        "STEP_STARTED",
        "ASSET_MATERIALIZED",
        "STEP_SUCCEEDED",
    ]
    assert output.index("started total") > output.index("succeeded numbers")
    assert (result.run_dir / "events").is_dir() and (result.run_dir / "logs").is_dir()
    assert result.storage_dir == project / ".kasset" / "storage"


def test_jobs_run_independent_steps_at_the_same_time(project: Path) -> None:
    result, output = run(project, "group:pair", jobs=2)
    assert result.success, output
    assert (load(result, "left"), load(result, "right")) == ("left.mark", "right.mark")


def test_a_retry_waits_for_its_delay(project: Path) -> None:
    result, output = run(project, "flaky")
    assert result.success, output
    assert load(result, "flaky") == 2
    failed_at = next(e["timestamp"] for e in result.events if e["type"] == "STEP_FAILED")
    restarted_at = [e["timestamp"] for e in result.events if e["type"] == "STEP_STARTED"][1]
    from datetime import datetime

    gap = datetime.fromisoformat(restarted_at) - datetime.fromisoformat(failed_at)
    assert gap.total_seconds() >= 0.5
    assert "failed flaky (attempt 1)" in output and "retrying in 0.5s" in output


def test_a_step_past_its_timeout_is_terminated_and_its_downstream_skipped(project: Path) -> None:
    started = time.monotonic()
    result, output = run(project, "group:slow")
    assert time.monotonic() - started < 20
    assert result.phase is RunPhase.FAILED
    assert result.state.steps[StepKey(AssetKey("sleepy"))].message == "timed out after 1s"
    assert phase(result, "after_sleepy") is StepPhase.SKIPPED
    assert "stopping sleepy (attempt 1): timed out after 1s" in output
    pid = int((project / "sleepy.pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_ctrl_c_cancels_the_run_and_stops_the_children(project: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "kasset",
        "materialize",
        "exec_project",
        "--local",
        "--select",
        "hangs",
    ]
    parent = subprocess.Popen(
        command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    pid_file = project / "hangs.pid"
    deadline = time.monotonic() + 30
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid_file.exists(), "the step never started"
    time.sleep(0.1)
    parent.send_signal(signal.SIGINT)
    out, err = parent.communicate(timeout=30)
    assert parent.returncode == 130, out + err
    assert "canceling: interrupted (Ctrl-C)" in out
    assert "\nhangs  Canceled  1" in out
    assert "Traceback" not in err
    child = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


def test_a_failed_run_exits_non_zero_and_points_at_the_log(project: Path) -> None:
    (project / "exec_failing.py").write_text(
        "from kasset import Definitions, asset\n"
        "@asset\ndef broken():\n    raise ValueError('no rows')\n"
        "defs = Definitions(assets=[broken])\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "kasset", "materialize", "exec_failing.py", "--local"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "FAILED broken" in done.stdout and "ValueError: no rows" in done.stdout
    log_line = next(line for line in done.stdout.splitlines() if line.startswith("log of broken"))
    log = (project / log_line.split(": ", 1)[1]).read_text()
    assert "ValueError: no rows" in log  # the user's traceback is in the step log


def test_run_ids_sort_by_time_and_are_kubernetes_names() -> None:
    from datetime import UTC, datetime

    from kasset.naming import is_dns1123_label

    first = new_run_id(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert first.startswith("local-20240102-030405-")
    assert is_dns1123_label(first)
    assert json.dumps(first)
