"""The Dagster-style project (tests/e2e/projects/dagster_style.py) gives the same outcome
in `materialize()` and in the local executor's real subprocesses: typed metadata, the
data version, the observation, RetryRequested's second attempt, the check, the job."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dagster_project import PROJECTS, load_dagster_style
from kasset import AssetKey, RunConfig, materialize
from kasset.errors import DefinitionError
from kasset.local.executor import run_local
from kasset.local.loading import load_definitions


@pytest.fixture
def project(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    yield load_dagster_style(monkeypatch)
    sys.modules.pop("dagster_style", None)


def outcome(events: list[dict[str, Any]]) -> dict[str, Any]:
    """What both executors must agree on, from the wire form of the events."""
    storage = {"format", "bytes"}  # what the filesystem IO manager adds
    materialized = {
        e["asset"]: (
            {k: v for k, v in e["payload"]["metadata"].items() if k not in storage},
            e["payload"]["dataVersion"],
        )
        for e in events
        if e["type"] == "ASSET_MATERIALIZED"
    }
    checks = {
        e["payload"]["check"]["name"]: e["payload"]["check"]["passed"]
        for e in events
        if e["type"] == "ASSET_CHECK_EVALUATED"
    }
    observed = [e["payload"]["metadata"] for e in events if e["type"] == "ASSET_OBSERVED"]
    attempts = {e["asset"]: e["attempt"] for e in events if e["type"] == "STEP_SUCCEEDED"}
    return {
        "materialized": materialized,
        "checks": checks,
        "observed": observed,
        "attempts": attempts,
    }


def test_the_project_gives_the_same_outcome_in_process_and_in_subprocesses(
    project: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {"ops": {"numbers": {"config": {"rows": 4}}}}
    in_process = materialize(project.defs, run_config=config)
    assert in_process.success
    assert in_process.output_for("total") == 3 * (1 + 2 + 3 + 4) + 1

    monkeypatch.chdir(tmp_path)
    location, defs = load_definitions("dagster_style", cwd=PROJECTS)
    local = run_local(
        defs,
        location,
        home=tmp_path / ".kasset",
        stream=io.StringIO(),
        tty=False,
        run_config=config,
    )
    assert local.success
    expected = outcome([e.to_dict() for e in in_process.events])
    assert outcome(local.events) == expected

    numbers_metadata, version = expected["materialized"]["numbers"]
    assert version == "rows-4"
    assert numbers_metadata["rows"] == 4 and numbers_metadata["mean"] == 7.5
    assert numbers_metadata["dashboard"] == {"type": "url", "value": "https://example.com/numbers"}
    assert numbers_metadata["preview"]["type"] == "table"
    assert numbers_metadata["preview"]["value"]["records"] == [
        {"n": 3},
        {"n": 6},
        {"n": 9},
        {"n": 12},
    ]
    assert numbers_metadata["notes"]["type"] == "md"
    assert expected["observed"] == [{"seen_rows": 4}]
    assert expected["checks"] == {"total_is_positive": True}
    assert expected["attempts"]["flaky_fetch"] == 2  # RetryRequested, with no retry policy


def test_a_job_runs_its_selection_with_its_tags(project: Any) -> None:
    job = project.defs.get_job_def("marts_job")
    assert [k.to_string() for k in job.keys] == ["flaky_fetch", "numbers", "total"]
    result = materialize(project.defs, selection=job.selection, tags=dict(job.tags))
    assert {e.asset for e in result.events if e.type == "ASSET_MATERIALIZED"} == {
        "flaky_fetch",
        "numbers",
        "total",
    }


def test_a_config_typo_fails_before_any_step_runs(project: Any) -> None:
    with pytest.raises(DefinitionError, match=r"asset 'numbers': invalid config: rowz"):
        materialize(project.defs, run_config=RunConfig(ops={"numbers": {"rowz": 4}}))


def test_an_unset_env_var_fails_the_step_saying_which(
    project: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KASSET_E2E_TOKEN")
    with pytest.raises(DefinitionError, match="KASSET_E2E_TOKEN is not set"):
        materialize(project.defs, selection="numbers")


def test_the_env_var_is_read_when_the_step_runs_not_at_import(
    project: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KASSET_E2E_TOKEN", "")
    with pytest.raises(Exception, match="no token"):
        materialize(project.defs, selection="numbers")
    monkeypatch.setenv("KASSET_E2E_TOKEN", "later")
    assert materialize(project.defs, selection="numbers").output_for("numbers") == [3, 6, 9]


def test_the_asset_key_of_the_project_is_what_dagster_would_name_it(project: Any) -> None:
    assert project.defs.get_asset("numbers").op_name == "numbers"
    assert AssetKey(["a", "b"]).to_user_string() == "a/b"
