"""The Dagster-style project (e2e_projects.dagster_style) on the cluster, with real pods:
the same outcome as in `materialize()` and the local executor (tests/unit/local/
test_dagster_project.py), the EnvVar read from a Secret in the step pod, the run config
from spec.runConfig, and a run config that does not fit refused before any pod starts."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from e2e_world import E2E

SECRET = "e2e-token"


def _secret(e2e: E2E) -> None:
    e2e.kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": SECRET},
            "data": {"token": base64.b64encode(b"from-a-secret").decode()},
        },
        e2e.namespace,
    )


def _steps(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["key"]: s for s in status.get("steps", [])}


@pytest.mark.timeout(300, func_only=True)
def test_the_dagster_style_project_runs_on_the_cluster_like_in_process(e2e: E2E) -> None:
    _secret(e2e)
    e2e.start_operator()
    manifest = e2e.apply_graph(
        "e2e_projects.dagster_style",
        name="dagster-style",
        secret_env={"KASSET_E2E_TOKEN": (SECRET, "token")},
    )
    assert "from-a-secret" not in str(manifest)
    run_config = {"ops": {"numbers": {"config": {"rows": 4}}}}
    e2e.submit("dg-1", "dagster-style", runConfig=run_config, job="marts_job")
    status = e2e.wait_run("dg-1", timeout=240)
    assert e2e.storage.read("numbers") == [3, 6, 9, 12]
    assert e2e.storage.read("total") == 31
    steps = _steps(status)
    assert steps["flaky_fetch"]["attempts"] == 2, steps["flaky_fetch"]  # RetryRequested
    checks = {c["name"]: c["passed"] for c in steps["total"].get("checks", [])}
    assert checks == {"total_is_positive": True}
    asset = e2e.asset_status("dagster-style", "numbers")
    latest = asset.get("latest") or {}
    assert latest.get("metadata", {}).get("rows") == "4", asset
    assert latest.get("metadata", {}).get("dashboard") == "https://example.com/numbers", asset


@pytest.mark.timeout(180, func_only=True)
def test_a_run_config_that_does_not_fit_fails_the_run_before_any_pod(e2e: E2E) -> None:
    _secret(e2e)
    e2e.start_operator()
    e2e.apply_graph(
        "e2e_projects.dagster_style",
        name="dagster-style",
        secret_env={"KASSET_E2E_TOKEN": (SECRET, "token")},
    )
    bad = {"ops": {"numbers": {"config": {"rows": "many", "colour": "red"}}}}
    e2e.submit("dg-bad", "dagster-style", runConfig=bad)
    status = e2e.wait_run("dg-bad", phases=("Failed",), timeout=60)
    invalid = {c["type"]: c for c in status.get("conditions", [])}["Invalid"]
    assert "ops.numbers.config.rows: expected integer, got str" in invalid["message"]
    assert "ops.numbers.config.colour: unknown field" in invalid["message"]
    assert not e2e.pods()
