"""A step speaks only for itself, and exit 0 is not a success (issue 11, items 1 and 2).

`e2e_projects.forging`: `liar` writes success events for its running sibling `victim`
into its termination log, posts them with its own step token, appends them to the local
event file, then exits 0 without reporting for itself; `silent` exits 0 too. Both have
one retry. (a) the local subprocess executor, (b) real step pods on the cluster.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kasset.local.executor import run_local
from kasset.local.loading import CodeLocation
from kasset.plan import NO_OUTCOME, RunPhase, StepPhase

TESTS = Path(__file__).resolve().parents[1]
PROJECTS = TESTS / "e2e" / "projects"
MODULE = "e2e_projects.forging"
#: How long `victim` sleeps in a pod (the project's default): a forged success would
#: come as soon as `liar` ended, within a second or two.
VICTIM_SECONDS = 20.0


def test_local_steps_cannot_report_for_a_sibling_and_exit_0_alone_is_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from operator_harness import load_project

    monkeypatch.setenv("KASSET_TEST_VICTIM_SECONDS", "4")
    link = tmp_path / "code"
    link.mkdir()
    (link / "e2e_projects").symlink_to(PROJECTS)
    defs = load_project(MODULE).defs
    with (tmp_path / "out.txt").open("w") as stream:
        run = run_local(
            defs, CodeLocation(MODULE, "defs", str(link)), home=tmp_path / "home", stream=stream
        )

    steps = {key.asset.to_string(): step for key, step in run.state.steps.items()}
    assert run.phase is RunPhase.FAILED
    for name in ("liar", "silent"):
        assert steps[name].phase is StepPhase.FAILED
        assert steps[name].attempts == 2, "the retry policy applies"
        assert steps[name].message == NO_OUTCOME
    assert steps["after_silent"].phase is StepPhase.SKIPPED
    assert steps["victim"].phase is StepPhase.SUCCEEDED
    assert steps["after_victim"].phase is StepPhase.SUCCEEDED
    victim_events = [e for e in run.events if e.get("step") == "victim"]
    assert victim_events and all(
        "forged" not in json.dumps(e.get("payload", {})) for e in victim_events
    )


@pytest.mark.cluster
def test_step_pods_cannot_report_for_a_sibling_and_exit_0_alone_is_a_failure(world) -> None:  # type: ignore[no-untyped-def]
    from operator_harness import metric_samples

    world.start_operator()
    world.apply_graph(MODULE, "defs", name="forging")
    world.submit("forging-run", graph="forging", maxParallel=10)
    status = world.wait_run("forging-run", phases=("Failed",), timeout=180)

    steps = {s["key"]: s for s in status.get("steps", [])}
    assets = {a["asset"]: a for a in status.get("assets", [])}
    print(f"\ncounts {status.get('counts')}")
    for key, step in sorted(steps.items()):
        print(f"  {key}: {step.get('phase')} x{step.get('attempts')}: {step.get('message')}")
    for name in ("liar", "silent"):
        assert steps[name]["phase"] == "Failed", steps[name]
        assert steps[name]["attempts"] == 2, steps[name]
        assert steps[name]["message"] == NO_OUTCOME, steps[name]
    assert assets["after_silent"]["phase"] == "Skipped", assets
    assert assets["victim"]["phase"] == "Succeeded", assets
    assert assets["after_victim"]["phase"] == "Succeeded", assets
    victim = world.asset_status("forging", "victim")
    assert "forged" not in json.dumps(victim.get("latest", {})), victim
    # victim's success is its own: it came after its sleep, not when liar ended
    started, ended = _times(world, "victim")
    assert ended - started >= VICTIM_SECONDS - 0.5, (started, ended)
    # the HTTP channel refused liar's token for victim's events
    http = json.loads((world.storage.directory / "forgery" / "http-1.json").read_text())
    assert http == 403, http
    dropped = metric_samples(world.op.metrics(), "kasset_foreign_events_dropped_total")
    print(f"dropped: {dropped}")
    assert dropped.get('kasset_foreign_events_dropped_total{channel="termination-message"}') == 4
    assert dropped.get('kasset_foreign_events_dropped_total{channel="http"}') == 4
    events = world.kube.get_json("events", namespace=world.namespace)["items"]
    warnings = [e for e in events if e.get("reason") == "ForeignEventsDropped"]
    assert warnings and all(e["type"] == "Warning" for e in warnings), warnings
    assert "victim" in warnings[0]["message"]


def _times(world, asset: str) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    from datetime import datetime

    for pod in world.pods():
        if pod["metadata"].get("annotations", {}).get("kasset.io/step") == asset:
            state = pod["status"]["containerStatuses"][0]["state"]["terminated"]
            return (
                datetime.fromisoformat(state["startedAt"].replace("Z", "+00:00")).timestamp(),
                datetime.fromisoformat(state["finishedAt"].replace("Z", "+00:00")).timestamp(),
            )
    raise AssertionError(f"no pod of {asset}")
