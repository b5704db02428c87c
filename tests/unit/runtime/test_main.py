"""`python -m kasset.runtime` as the local executor and step pods run it: a real process,
configured by the environment, reporting to a file, a termination log and HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import Endpoint

SOURCE = """
import os
import time
from kasset import (AssetExecutionContext, Definitions, StaticPartitionsDefinition, asset,
                    asset_check)

@asset
def numbers(context: AssetExecutionContext) -> list[int]:
    context.log.info("making numbers")
    return [1, 2, 3]

@asset_check(asset=numbers)
def has_three(numbers: list[int]) -> bool:
    return len(numbers) == 3

@asset
def total(numbers: list[int]) -> int:
    return sum(numbers)

@asset
def broken(numbers: list[int]) -> int:
    return numbers[10]

@asset
def slow() -> None:
    print("slow started", flush=True)
    time.sleep(30)

@asset(partitions_def=StaticPartitionsDefinition(["eu", "us"]))
def regional(context: AssetExecutionContext) -> str:
    return context.partition_key

defs = Definitions(assets=[numbers, has_three, total, broken, slow, regional])
"""

FORBIDDEN = [
    *("kopf", "kubernetes", "fastapi", "uvicorn", "prometheus_client", "httpx", "requests"),
    "pandas",  # only for a DataFrame value
    "fsspec",  # only for storage other than a local path
    "pydantic",  # the schema; steps build plain records (records.py)
    "networkx",  # graph layout only
]


@pytest.fixture
def project(write_module: Any) -> Path:
    return write_module("runtime_demo_assets", SOURCE)  # type: ignore[no-any-return]


def environment(project: Path, step: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KASSET_")}
    env.update(
        {
            "KASSET_RUN": "run-1",
            "KASSET_STEP": step,
            "KASSET_ATTEMPT": "1",
            "KASSET_CODE": "runtime_demo_assets:defs",
            "KASSET_STORAGE_URI": str(project / "storage"),
            "KASSET_EVENT_FILE": str(project / "events.jsonl"),
            "KASSET_TERMINATION_LOG": str(project / "termination-log"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def runtime(project: Path, step: str, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kasset.runtime", *args],
        check=False,
        cwd=project,
        capture_output=True,
        text=True,
        env=environment(project, step, **extra),
        timeout=60,
    )


def events(project: Path) -> list[dict[str, Any]]:
    path = project / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def termination(project: Path) -> dict[str, Any]:
    return json.loads((project / "termination-log").read_text())  # type: ignore[no-any-return]


def test_a_step_process_reports_to_its_event_file_and_termination_log(project: Path) -> None:
    done = runtime(project, "numbers")
    assert done.returncode == 0, done.stderr
    assert [e["type"] for e in events(project)] == [
        "STEP_STARTED",
        "ASSET_MATERIALIZED",
        "ASSET_CHECK_EVALUATED",
        "STEP_SUCCEEDED",
    ]
    assert [e["type"] for e in termination(project)["events"]] == [
        "ASSET_MATERIALIZED",
        "ASSET_CHECK_EVALUATED",
        "STEP_SUCCEEDED",
    ]
    assert (project / "storage" / "numbers" / "__all__.pkl").is_file()
    assert "INFO making numbers" in done.stdout  # context.log goes to the step's log
    assert done.stderr == ""


def test_a_downstream_step_reads_what_the_upstream_step_stored(project: Path) -> None:
    assert runtime(project, "numbers").returncode == 0
    done = runtime(project, "total", "--event-file", str(project / "total.jsonl"))
    assert done.returncode == 0, done.stderr
    lines = (project / "total.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["type"] == "STEP_SUCCEEDED"


def test_a_partitioned_step_is_named_with_its_partition(project: Path) -> None:
    done = runtime(project, "regional[us]")
    assert done.returncode == 0, done.stderr
    assert {e["partition"] for e in events(project)} == {"us"}
    assert (project / "storage" / "regional" / "us.pkl").is_file()


def test_a_failing_step_prints_the_user_traceback_and_exits_1(project: Path) -> None:
    assert runtime(project, "numbers").returncode == 0
    (project / "events.jsonl").unlink()
    done = runtime(project, "broken")
    assert done.returncode == 1
    assert "return numbers[10]" in done.stderr and "IndexError" in done.stderr
    assert "step broken failed: IndexError: list index out of range" in done.stderr
    failed = events(project)[-1]
    assert failed["type"] == "STEP_FAILED"
    assert failed["payload"]["error"]["type"] == "IndexError"
    assert failed["payload"]["error"]["retryable"] is True
    assert "return numbers[10]" in failed["payload"]["error"]["traceback"]
    assert termination(project)["events"][-1]["id"] == failed["id"]


def test_a_bad_code_location_exits_2_with_a_message_and_reports_it(project: Path) -> None:
    done = runtime(project, "numbers", KASSET_CODE="runtime_demo_assets:nope")
    assert done.returncode == 2
    assert done.stderr.startswith("kasset runtime: error: module 'runtime_demo_assets' has no")
    assert "Traceback" not in done.stderr
    (failed,) = events(project)
    assert failed["type"] == "STEP_FAILED"
    assert failed["payload"]["error"]["type"] == "CodeLocationError"
    assert failed["payload"]["error"]["retryable"] is False


def test_an_unknown_step_exits_2(project: Path) -> None:
    done = runtime(project, "not_an_asset")
    assert done.returncode == 2
    assert "no asset 'not_an_asset'" in done.stderr


def test_missing_configuration_exits_2_without_reporting(project: Path) -> None:
    done = runtime(project, "numbers", KASSET_RUN="")
    assert done.returncode == 2
    assert "missing run" in done.stderr
    assert events(project) == []


def test_sigterm_reports_the_step_terminated_and_flushes(project: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "kasset.runtime"],
        cwd=project,
        env=environment(project, "slow"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "slow started"
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=20)
    assert process.returncode == -signal.SIGTERM
    assert time.monotonic() - started < 5
    failed = events(project)[-1]
    assert failed["type"] == "STEP_FAILED"
    assert failed["payload"]["error"]["type"] == "Terminated"
    assert failed["payload"]["error"]["interrupted"] is True  # the operator retries it for free
    assert termination(project)["events"][-1]["id"] == failed["id"]


def test_events_reach_the_operator_over_http(project: Path, endpoint: Endpoint) -> None:
    endpoint.statuses = [503, 202]
    done = runtime(project, "numbers", KASSET_EVENT_URL=endpoint.url, KASSET_EVENT_TOKEN="tok")
    assert done.returncode == 0, done.stderr
    delivered = [e["type"] for e in endpoint.delivered_events]
    assert delivered == [
        "STEP_STARTED",
        "ASSET_MATERIALIZED",
        "ASSET_CHECK_EVALUATED",
        "STEP_SUCCEEDED",
    ]
    assert set(endpoint.authorizations) == {"Bearer tok"}


def test_the_kasset_command_runs_the_runtime(project: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kasset", "runtime"],
        check=False,
        cwd=project,
        capture_output=True,
        text=True,
        env=environment(project, "numbers"),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_a_step_process_imports_no_operator_ui_or_heavy_dependencies(project: Path) -> None:
    script = (
        "import sys, json\n"
        "from kasset.runtime.main import main\n"
        "code = main([])\n"
        f"print(json.dumps([code, [m for m in {FORBIDDEN!r} if m in sys.modules]]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        cwd=project,
        capture_output=True,
        text=True,
        env=environment(project, "numbers"),
        timeout=60,
    )
    code, loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert code == 0, done.stderr
    assert loaded == []


def test_an_unreachable_operator_does_not_hold_a_step_that_has_a_termination_message(
    project: Path,
) -> None:
    import socket

    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/v1/events"
    # Without the termination message to fall back on, the runtime would retry for 30 s;
    # with it, a few seconds: the subprocess timeout is the bound.
    done = subprocess.run(
        [sys.executable, "-m", "kasset.runtime"],
        check=False,
        cwd=project,
        capture_output=True,
        text=True,
        env=environment(project, "numbers", KASSET_EVENT_URL=url, KASSET_EVENT_TOKEN="t"),
        timeout=25,
    )
    assert done.returncode == 0, done.stderr
    assert termination(project)["events"][-1]["type"] == "STEP_SUCCEEDED"
