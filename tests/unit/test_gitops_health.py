"""The Argo CD health scripts in docs/gitops/ run in Lua 5.1 (Argo CD's gopher-lua) on
objects shaped as the operator writes them, and say Healthy/Degraded/Progressing."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from operator_status_records import failed_record, running_record, succeeded_record

from kasset.operator.model.status import build_status

SCRIPTS = Path(__file__).resolve().parents[2] / "docs" / "gitops"
LUA = shutil.which("lua5.1")


def _lua(value: Any) -> str:
    """A Python value as a Lua table literal (what Argo CD hands the script as `obj`)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"[{json.dumps(k)}]={_lua(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "{" + ",".join(_lua(v) for v in value) + "}"
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))


def health(kind: str, obj: dict[str, Any]) -> tuple[str, str]:
    assert LUA, "lua5.1 is missing: hack/setup installs it"
    script = (SCRIPTS / f"{kind}.lua").read_text()
    program = (
        f"obj = {_lua(obj)}\nlocal hs = (function()\n{script}\nend)()\n"
        'io.write(hs.status, "\\t", hs.message or "")\n'
    )
    out = subprocess.run([LUA, "-"], input=program, capture_output=True, text=True, check=True)
    status, _, message = out.stdout.partition("\t")
    return status, message


def mat(status: dict[str, Any] | None, generation: int = 1) -> dict[str, Any]:
    return {"metadata": {"name": "run-1", "generation": generation}, "status": status}


@pytest.mark.parametrize(
    ("record", "expected"),
    [(running_record, "Progressing"), (succeeded_record, "Healthy"), (failed_record, "Degraded")],
)
def test_a_run_is_healthy_when_it_succeeded_and_degraded_when_it_failed(
    record: Any, expected: str
) -> None:
    status = build_status(record())
    assert health("materialization", mat(status))[0] == expected


def test_a_run_not_planned_yet_or_not_observed_at_its_generation_is_progressing() -> None:
    assert health("materialization", mat(None)) == (
        "Progressing",
        "Waiting for the kasset operator to plan the run",
    )
    status = build_status(succeeded_record())
    assert health("materialization", mat(status, generation=2))[0] == "Progressing"


def test_an_invalid_or_canceled_run_is_degraded_with_its_message() -> None:
    invalid = {
        "phase": "Failed",
        "observedGeneration": 1,
        "message": "unknown graph 'nope'",
        "conditions": [{"type": "Invalid", "status": "True", "message": "unknown graph"}],
    }
    assert health("materialization", mat(invalid)) == ("Degraded", "unknown graph 'nope'")
    assert health("materialization", mat({"phase": "Canceled"}))[0] == "Degraded"


@pytest.mark.parametrize(
    ("asset_health", "expected"),
    [
        ("Fresh", "Healthy"),
        ("Stale", "Healthy"),
        ("Failed", "Degraded"),
        ("Missing", "Progressing"),
    ],
)
def test_an_asset_is_degraded_only_when_its_last_materialization_failed(
    asset_health: str, expected: str
) -> None:
    assert health("asset", {"status": {"health": asset_health}})[0] == expected


def test_a_graph_is_healthy_when_ready_and_degraded_with_the_reason_when_invalid() -> None:
    ready = {"conditions": [{"type": "Ready", "status": "True", "message": "3 assets"}]}
    invalid = {
        "conditions": [
            {"type": "Ready", "status": "False"},
            {"type": "Invalid", "status": "True", "message": "cycle: a -> b -> a"},
        ]
    }
    assert health("assetgraph", {"status": ready}) == ("Healthy", "3 assets")
    assert health("assetgraph", {"status": invalid}) == ("Degraded", "cycle: a -> b -> a")
    assert health("assetgraph", {})[0] == "Progressing"
