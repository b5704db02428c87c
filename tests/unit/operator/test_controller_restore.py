"""A restarted operator resumes runs from their status and their pods, exactly once."""

from __future__ import annotations

import copy

from fake_cluster import NS, Harness, asset, graph_body, run_async

from kasset import naming
from kasset.operator.runs.config import ControllerConfig
from kasset.operator.runs.controller import Controller

CHAIN = [asset("a"), asset("b", ["a"]), asset("c", ["b"])]


def restart(h: Harness) -> None:
    """A new controller on the same API server, as after a crash."""
    settings = {
        "event_url": "http://op/api/v1/events",
        "secret": b"s3cret",
        "status_interval": 0.0,
        "asset_interval": 0.0,
        "infra_retries": h.controller.config.infra_retries,
    }
    h.controller = Controller(h.kube, ControllerConfig(**settings), clock=lambda: h.now)


async def resume(h: Harness, name: str) -> None:
    h.controller.on_graph(h.kube.objects[("assetgraphs", NS, "g")], None)
    body = copy.deepcopy(h.kube.objects[("materializations", NS, name)])
    await h.controller.on_materialization(body, None)
    await h.settle()


def pod_creates(h: Harness) -> int:
    return h.kube.writes.count(("create", "pods"))


def test_a_restart_adopts_the_running_pod_instead_of_creating_another() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.add_graph(graph_body(assets=CHAIN))
        await h.create_run("r1")
        await h.succeed("r1", "a")
        restart(h)
        before = pod_creates(h)
        await resume(h, "r1")
        assert pod_creates(h) == before
        await h.succeed("r1", "b")
        assert naming.step_pod_name("r1", "c", 1) in h.pod_names()
        await h.succeed("r1", "c")
        assert h.phase("r1") == "Succeeded"

    run_async(scenario)


def test_a_pod_created_after_the_last_status_write_is_adopted_as_running() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.add_graph(graph_body(assets=CHAIN))
        await h.create_run("r1")
        await h.succeed("r1", "a")
        # The crash lost the write that said b is running: status still shows b pending.
        status = h.kube.objects[("materializations", NS, "r1")]["status"]
        status["steps"] = [s for s in status["steps"] if s["key"] != "b"]
        status["assets"] = [s for s in status["assets"] if s["asset"] != "b"]
        restart(h)
        before = pod_creates(h)
        await resume(h, "r1")
        assert pod_creates(h) == before  # no second pod for b's attempt 1
        step = next(s for s in h.status("r1")["steps"] if s["key"] == "b")
        assert step["phase"] == "Running" and step["attempts"] == 1

    run_async(scenario)


def test_a_pod_that_finished_while_the_operator_was_down_is_folded() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.add_graph(graph_body(assets=CHAIN))
        await h.create_run("r1")
        await h.succeed("r1", "a")
        restart(h)
        pod = h.pod_of("r1", "b")
        events = [h.event("r1", "b", "STEP_SUCCEEDED")]
        import json

        pod["status"] = {
            "phase": "Succeeded",
            "containerStatuses": [
                {
                    "name": "step",
                    "state": {
                        "terminated": {
                            "exitCode": 0,
                            "message": json.dumps({"v": 1, "events": events}),
                        }
                    },
                }
            ],
        }
        await resume(h, "r1")
        assert naming.step_pod_name("r1", "c", 1) in h.pod_names()

    run_async(scenario)


def test_a_running_step_whose_pod_vanished_is_launched_again_under_the_same_name() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.add_graph(graph_body(assets=CHAIN))
        await h.create_run("r1")
        restart(h)
        h.kube.pods.clear()
        await resume(h, "r1")
        assert h.pod_names() == [naming.step_pod_name("r1", "a", 1)]

    run_async(scenario)


def test_infrastructure_retries_spent_before_a_restart_stay_spent() -> None:
    async def scenario() -> None:
        h = Harness(infra_retries=1)
        await h.add_graph(graph_body(assets=[asset("a")]))
        await h.create_run("r1")
        await h.pod_update("r1", "a", phase="Failed", reason="Evicted", message="low memory")
        restart(h)
        await resume(h, "r1")
        await h.advance(2)
        assert naming.step_pod_name("r1", "a", 2) in h.pod_names()
        await h.pod_update("r1", "a", 2, phase="Failed", reason="Evicted", message="again")
        assert h.phase("r1") == "Failed"

    run_async(scenario)


def test_a_partitioned_run_is_restored_from_its_ranges() -> None:
    async def scenario() -> None:
        h = Harness()
        daily = {"name": "daily", "type": "daily", "start": "2024-01-01"}
        await h.add_graph(
            graph_body(
                assets=[asset("d", partitions="daily")],
                partitionsDefinitions=[daily],
                maxParallel=2,
            )
        )
        await h.create_run("r1", partitions={"range": {"start": "2024-01-01", "end": "2024-01-04"}})
        await h.succeed("r1", "d[2024-01-01]")
        await h.succeed("r1", "d[2024-01-02]")
        restart(h)
        await resume(h, "r1")
        state = h.controller.table.runs[(NS, "r1")].state
        assert state.counts()["succeeded"] == 2 and state.counts()["running"] == 2
        await h.succeed("r1", "d[2024-01-03]")
        await h.succeed("r1", "d[2024-01-04]")
        assert h.phase("r1") == "Succeeded"

    run_async(scenario)


def test_a_finished_run_is_not_replanned_after_a_restart() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.add_graph(graph_body(assets=[asset("a")]))
        await h.create_run("r1")
        await h.succeed("r1", "a")
        restart(h)
        before = len(h.kube.writes)
        await resume(h, "r1")
        assert len(h.kube.writes) == before
        assert (NS, "r1") in h.controller.janitor.finished_runs

    run_async(scenario)
