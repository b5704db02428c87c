"""`kasset dev`'s backend: runs with real step subprocesses, statuses and assets kept in
memory, logs per step, cancel, re-run of failures, history kept across restarts."""

from __future__ import annotations

import asyncio
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ui_testkit import TOKEN

from kasset.local.loading import load_definitions
from kasset.resources import AssetHealth, RunPhase, StepPhase
from kasset.ui.app import create_app
from kasset.ui.auth import AuthConfig
from kasset.ui.backend import ConflictError, InvalidRequestError
from kasset.ui.local_backend import LocalBackend

PROJECT = """
import os, time
from kasset import AssetCheckResult, Definitions, StaticPartitionsDefinition, asset, asset_check

@asset(group="raw")
def numbers() -> list[int]:
    print("reading numbers", flush=True)
    return [1, 2, 3]

@asset
def total(numbers: list[int]) -> int:
    if os.environ.get("UI_TEST_FAIL") and not os.path.exists("fixed"):
        raise ValueError("total is broken")
    return sum(numbers)

@asset_check(asset=total)
def total_positive(total: int) -> AssetCheckResult:
    return AssetCheckResult(passed=total > 0)

@asset(partitions_def=StaticPartitionsDefinition(["eu", "us"]))
def regions() -> str:
    return "ok"

@asset
def slow() -> int:
    time.sleep(30)
    return 1

defs = Definitions(assets=[numbers, total, regions, slow], asset_checks=[total_positive])
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "defs.py").write_text(textwrap.dedent(PROJECT))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def backend(project: Path) -> Iterator[LocalBackend]:
    location, defs = load_definitions("proj/defs.py")
    local = LocalBackend(defs, location, home=project / ".kasset", warm_layout=False)
    yield local
    local.close()


def test_a_launched_run_appears_runs_and_succeeds(backend: LocalBackend) -> None:
    name = backend.launch("local", "proj", "numbers+", None, "ui")
    assert backend.runs()[0].metadata.name == name
    run = backend.wait(name)
    assert run.status is not None and run.status.phase is RunPhase.SUCCEEDED
    assert run.status.counts.succeeded == 2
    steps = {s.key: s for s in run.status.steps}
    assert steps["total"].checks[0].name == "total_positive"
    assert steps["numbers"].metadata["format"] == "pickle"
    assets = {a.spec.key: a for a in backend.assets()}
    assert assets["numbers"].status is not None
    assert assets["numbers"].status.health is AssetHealth.FRESH
    assert assets["total"].status is not None and assets["total"].status.checks[0].passed
    assert assets["slow"].status is not None
    assert assets["slow"].status.health is AssetHealth.MISSING


def test_step_logs_are_captured_per_step(backend: LocalBackend) -> None:
    name = backend.wait(backend.launch("local", "proj", "numbers", None, "ui")).metadata.name
    assert name is not None

    async def read() -> str:
        return "".join([c async for c in backend.step_logs("local", name, "numbers")])

    assert "reading numbers" in asyncio.run(read())


def test_partitions_and_selection_errors_are_checked_before_running(backend: LocalBackend) -> None:
    with pytest.raises(InvalidRequestError, match="no asset 'nope'"):
        backend.launch("local", "proj", "nope", None, "ui")
    with pytest.raises(InvalidRequestError, match="choose the partitions"):
        backend.launch("local", "proj", "regions", None, "ui")
    from kasset.ui.launching import partition_selection

    run = backend.wait(backend.launch("local", "proj", "regions", partition_selection("eu"), "ui"))
    regions = next(a for a in backend.assets() if a.spec.key == "regions")
    assert run.status is not None and run.status.phase is RunPhase.SUCCEEDED
    assert regions.status is not None and regions.status.partitions is not None
    assert regions.status.partitions.materialized == "eu"
    assert regions.status.partitions.total == 2


def test_a_run_can_be_canceled(backend: LocalBackend) -> None:
    name = backend.launch("local", "proj", "slow", None, "ui")
    deadline = time.monotonic() + 20
    while backend.run("local", name).status.counts.running == 0:  # type: ignore[union-attr]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    backend.cancel("local", name)
    run = backend.wait(name, timeout=30)
    assert run.status is not None and run.status.phase is RunPhase.CANCELED
    assert run.spec.cancel is True
    with pytest.raises(ConflictError):
        backend.cancel("local", name)


def test_failed_steps_are_rerun_and_history_survives_a_restart(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UI_TEST_FAIL", "1")
    location, defs = load_definitions("proj/defs.py")
    backend = LocalBackend(defs, location, home=project / ".kasset", warm_layout=False)
    failed = backend.wait(backend.launch("local", "proj", "numbers+", None, "ui"))
    assert failed.status is not None and failed.status.phase is RunPhase.FAILED
    assert {s.key: s.phase for s in failed.status.steps}["total"] is StepPhase.FAILED
    total = next(a for a in backend.assets() if a.spec.key == "total")
    assert total.status is not None and total.status.health is AssetHealth.FAILED
    (project / "fixed").write_text("")
    rerun = backend.wait(backend.rerun_failed("local", failed.metadata.name or ""))
    assert rerun.spec.selection == "total" and rerun.spec.launched_by.startswith("ui:rerun:")
    assert rerun.status is not None and rerun.status.phase is RunPhase.SUCCEEDED
    backend.close()

    again = LocalBackend(defs, location, home=project / ".kasset", warm_layout=False)
    assert {r.metadata.name for r in again.runs()} == {failed.metadata.name, rerun.metadata.name}
    healths = {a.spec.key: a.status.health for a in again.assets() if a.status}
    assert healths["total"] is AssetHealth.FRESH and healths["numbers"] is AssetHealth.FRESH


def test_launch_run_and_finish_through_the_app(backend: LocalBackend) -> None:
    from fastapi.testclient import TestClient

    with TestClient(
        create_app(backend, auth=AuthConfig(token=TOKEN)),
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as c:
        made = c.post(
            "/api/v1/runs", json={"namespace": "local", "graph": "proj", "selection": "numbers"}
        )
        assert made.status_code == 201
        name = made.json()["name"]
        phases = []
        with c.stream("GET", f"/api/v1/runs/local/{name}/events") as stream:
            for line in stream.iter_lines():
                if line.startswith("data: {") and '"phase"' in line:
                    phases.append(line.split('"phase":"')[1].split('"')[0])
        assert phases[-1] == "Succeeded"
        assert c.get(f"/runs/local/{name}").status_code == 200
        assert "reading numbers" in c.get(f"/api/v1/runs/local/{name}/steps/numbers/logs").text
