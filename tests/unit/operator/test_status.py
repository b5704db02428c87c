"""Run status: compact, bounded at 10,000 steps, and readable back into step states."""

from __future__ import annotations

import json

from kasset.definitions.keys import AssetKey, StepKey
from kasset.graph import AssetGraph, AssetNode
from kasset.operator.model.graphs import GraphSnapshot
from kasset.operator.model.records import RunRecord
from kasset.operator.model.status import build_status, restore_steps
from kasset.plan import LaunchStep, RunState, StepFailed, StepSucceeded, Tick, advance, build_plan
from kasset.resources.assetgraph import AssetGraphSpec
from kasset.resources.materialization import MaterializationStatus

NOW = 1_700_000_000.0


def record_for(graph: AssetGraph, max_parallel: int = 1000) -> RunRecord:
    spec = AssetGraphSpec.model_validate({"image": "i", "codeLocation": {"module": "m"}})
    snapshot = GraphSnapshot("ns", "g", "uid", 1, spec, graph, {})
    plan = build_plan(graph, None, None, max_parallel)
    return RunRecord("ns", "run", "uid", 1, snapshot, RunState(plan), NOW)


def test_a_10000_step_run_keeps_its_status_under_one_mebibyte() -> None:
    nodes = [
        AssetNode(AssetKey(["warehouse", f"table_{i:05d}_with_a_descriptive_name"]))
        for i in range(10_000)
    ]
    record = record_for(AssetGraph(nodes), max_parallel=200)
    finished = 0
    actions = advance(record.state, None, NOW)
    while actions:
        follow: list[object] = []
        for action in actions:
            if not isinstance(action, LaunchStep):
                continue
            step = action.step
            record.step_info(step).metadata = {f"k{j}": "v" * 200 for j in range(16)}
            if finished % 100 == 0:
                event = StepFailed(step, 1, "x" * 2000, retryable=False)
            else:
                event = StepSucceeded(step, 1)
            finished += 1
            follow += advance(record.state, event, NOW + 1)
            record.touch(step)
        actions = follow + advance(record.state, Tick(), NOW + 2)
    status = build_status(record)
    size = len(json.dumps(status))
    assert size < 1024 * 1024, size
    assert len(status["steps"]) <= 1000
    assert status["counts"]["succeeded"] == 9900 and status["counts"]["failed"] == 100
    assert status["omittedSteps"] == 10_000 - len(status["steps"])
    MaterializationStatus.model_validate(status)  # the CRD schema accepts it


def test_status_round_trips_into_step_states() -> None:
    record = record_for(
        AssetGraph([AssetNode(AssetKey("a")), AssetNode(AssetKey("b"), (AssetKey("a"),))])
    )
    advance(record.state, None, NOW)
    a, b = StepKey(AssetKey("a")), StepKey(AssetKey("b"))
    advance(record.state, StepSucceeded(a, 1), NOW + 1)
    record.touch(a)
    record.touch(b)
    status = MaterializationStatus.model_validate(build_status(record))
    steps, details = restore_steps(record.state.plan, status, {})
    assert steps[a].phase.value == "Succeeded"
    assert steps[b].phase.value == "Running" and steps[b].attempts == 1
    assert details[b]["start"] is not None


def _conditions(record: RunRecord) -> dict[str, dict[str, object]]:
    status = MaterializationStatus.model_validate(build_status(record))
    assert status.conditions is not None
    return {c["type"]: c for c in build_status(record)["conditions"]}


def test_a_run_carries_running_succeeded_and_failed_conditions_like_a_job() -> None:
    record = record_for(AssetGraph([AssetNode(AssetKey("a"))]))
    a = StepKey(AssetKey("a"))
    advance(record.state, None, NOW)
    record.start_time = NOW + 1
    running = _conditions(record)
    assert {k: c["status"] for k, c in running.items()} == {
        "Running": "True",
        "Succeeded": "False",
        "Failed": "False",
    }
    assert running["Running"]["lastTransitionTime"] == "2023-11-14T22:13:21.000000Z"
    assert running["Succeeded"]["reason"] == "Running"
    advance(record.state, StepSucceeded(a, 1), NOW + 5)
    record.completion_time = NOW + 5
    done = _conditions(record)
    assert {k: c["status"] for k, c in done.items()} == {
        "Running": "False",
        "Succeeded": "True",
        "Failed": "False",
    }
    assert {c["lastTransitionTime"] for c in done.values()} == {"2023-11-14T22:13:25.000000Z"}
    assert all(c["observedGeneration"] == 1 and c["reason"] == "Succeeded" for c in done.values())
    assert done == _conditions(record)  # rewriting the status does not move the times


def test_a_failed_run_says_why_in_its_failed_condition() -> None:
    record = record_for(AssetGraph([AssetNode(AssetKey("a"))]))
    advance(record.state, None, NOW)
    record.start_time = NOW
    advance(record.state, StepFailed(StepKey(AssetKey("a")), 1, "boom", retryable=False), NOW + 2)
    record.completion_time = NOW + 2
    failed = _conditions(record)
    assert failed["Failed"]["status"] == "True" and failed["Succeeded"]["status"] == "False"
    assert failed["Failed"]["reason"] == "Failed"
    assert failed["Failed"]["message"] == "1 step(s) failed: a: boom"
