"""Asset status never lags the run status across a crash: the final run status waits for
the run's Asset writes, and a resumed run redoes the Asset records its status vouches for,
without displacing what is already recorded."""

from __future__ import annotations

import copy
from typing import Any

from fake_cluster import NS, Harness, asset, graph_body, run_async

from kasset import naming
from kasset.operator.assets.assetgraphs import AssetGraphReconciler
from kasset.operator.kube.client import ApiError
from kasset.operator.runs.config import ControllerConfig
from kasset.operator.runs.controller import Controller

CHAIN = [asset("a"), asset("b", ["a"]), asset("c", ["b"])]


def with_assets(h: Harness, keys: list[str]) -> None:
    for key in keys:
        h.kube.put("assets", {"metadata": {"name": naming.asset_object_name("g", key)}})


def asset_status(h: Harness, key: str) -> dict[str, Any]:
    return h.kube.status_of("assets", naming.asset_object_name("g", key))


def asset_writes(h: Harness) -> int:
    return h.kube.writes.count(("patch", "assets/status"))


async def chain_run(h: Harness) -> None:
    """Run r1 of a -> b -> c, with the graph's Asset objects in place."""
    with_assets(h, ["a", "b", "c"])
    await h.add_graph(graph_body(assets=CHAIN))
    await h.create_run("r1")


def lose_asset_writes(h: Harness, key: str) -> None:
    """As if the operator died before writing `key`'s Asset status."""
    h.kube.objects[("assets", NS, naming.asset_object_name("g", key))].pop("status", None)


def crash_and_resume(h: Harness, run: str) -> None:
    """A new controller on the same API server (as after SIGKILL), resuming `run`."""
    settings = {"status_interval": 0.0, "asset_interval": 1.0, "secret": b"s3cret"}
    h.controller = Controller(h.kube, ControllerConfig(**settings), clock=lambda: h.now)
    h.controller.on_graph(h.kube.objects[("assetgraphs", NS, "g")], None)


async def resume(h: Harness, run: str) -> None:
    crash_and_resume(h, run)
    body = copy.deepcopy(h.kube.objects[("materializations", NS, run)])
    await h.controller.on_materialization(body, None)
    await h.settle()


def test_a_materialization_recorded_in_the_run_but_not_on_its_asset_is_redone() -> None:
    async def scenario() -> None:
        h = Harness(asset_interval=1.0)
        await chain_run(h)
        await h.succeed("r1", "a", rows="3")
        # The run status says a succeeded; the operator dies before the Asset write.
        assert any(s["key"] == "a" and s["phase"] == "Succeeded" for s in h.status("r1")["steps"])
        lose_asset_writes(h, "a")
        await resume(h, "r1")
        await h.advance(1.5)
        latest = asset_status(h, "a")["latest"]
        assert latest["run"] == "r1" and latest["metadata"] == {"rows": "3"}
        assert asset_status(h, "a")["health"] == "Fresh"
        assert "latest" not in asset_status(h, "b")  # b is only running

    run_async(scenario)


def test_a_replay_keeps_the_record_that_landed_and_writes_nothing() -> None:
    async def scenario() -> None:
        h = Harness(asset_interval=1.0)
        await chain_run(h)
        await h.succeed("r1", "a")
        await h.advance(1.5)  # the Asset write lands
        landed = asset_status(h, "a")["latest"]
        writes = asset_writes(h)
        h.now += 30
        await resume(h, "r1")
        await h.advance(1.5)
        assert asset_status(h, "a")["latest"] == landed
        assert asset_writes(h) == writes

    run_async(scenario)


def test_a_replay_never_displaces_a_newer_run() -> None:
    async def scenario() -> None:
        h = Harness(asset_interval=1.0)
        await chain_run(h)
        await h.succeed("r1", "a")
        newer = {"run": "r2", "time": "2099-01-01T00:00:00.000000Z"}
        h.kube.objects[("assets", NS, naming.asset_object_name("g", "a"))]["status"] = {
            "health": "Fresh",
            "latest": newer,
        }
        await resume(h, "r1")
        await h.advance(1.5)
        assert asset_status(h, "a")["latest"] == newer

    run_async(scenario)


def test_a_failure_recorded_in_the_run_is_redone_on_its_asset() -> None:
    async def scenario() -> None:
        h = Harness(asset_interval=1.0)
        with_assets(h, ["a", "b", "c"])
        await h.add_graph(graph_body(assets=[asset("a"), asset("x")], maxParallel=1))
        await h.create_run("r1")
        await h.fail("r1", "a", message="no such table", retryable=False)
        lose_asset_writes(h, "a")
        await resume(h, "r1")
        await h.advance(1.5)
        failure = asset_status(h, "a")["lastFailure"]
        assert failure["run"] == "r1" and "no such table" in failure["message"]
        assert asset_status(h, "a")["health"] == "Failed"

    run_async(scenario)


def test_the_final_run_status_is_written_after_its_asset_statuses() -> None:
    async def scenario() -> None:
        h = Harness(asset_interval=1.0)
        with_assets(h, ["a"])
        await h.add_graph(graph_body(assets=[asset("a")]))
        await h.create_run("r1")
        await h.succeed("r1", "a")
        # No timer had to fire: finishing the run wrote the Asset, then the final status.
        assert h.phase("r1") == "Succeeded"
        assert asset_status(h, "a")["latest"]["run"] == "r1"
        last_asset = max(i for i, w in enumerate(h.kube.writes) if w[1] == "assets/status")
        final = max(i for i, w in enumerate(h.kube.writes) if w[1] == "materializations/status")
        assert last_asset < final

    run_async(scenario)


def test_the_final_run_status_waits_while_an_asset_write_fails() -> None:
    async def scenario() -> None:
        h = Harness(asset_interval=1.0)
        with_assets(h, ["a"])
        await h.add_graph(graph_body(assets=[asset("a")]))
        await h.create_run("r1")
        for _ in range(2):  # the write the event schedules, and the one the finish forces
            h.kube.fail_next("patch", "assets/status", ApiError(500, "etcdserver: timeout"))
        await h.succeed("r1", "a")
        assert h.phase("r1") != "Succeeded"
        assert "latest" not in asset_status(h, "a")
        await h.advance(3)
        assert h.phase("r1") == "Succeeded"
        assert asset_status(h, "a")["latest"]["run"] == "r1"

    run_async(scenario)


def test_a_run_whose_asset_writes_keep_failing_still_finishes() -> None:
    async def scenario() -> None:
        h = Harness(asset_interval=1.0)
        with_assets(h, ["a"])
        await h.add_graph(graph_body(assets=[asset("a")]))
        await h.create_run("r1")
        for _ in range(20):
            h.kube.fail_next("patch", "assets/status", ApiError(422, "invalid"))
        await h.succeed("r1", "a")
        await h.advance(30)
        assert h.phase("r1") == "Succeeded"

    run_async(scenario)


def test_a_status_that_found_no_asset_object_is_written_once_the_object_is_created() -> None:
    async def scenario() -> None:
        h = Harness(asset_interval=1.0)
        body = graph_body(assets=[asset("a")])
        await h.add_graph(body)
        await h.create_run("r1")
        await h.succeed("r1", "a")  # the graph's Asset objects do not exist yet
        assert h.phase("r1") == "Succeeded"
        reconciler = AssetGraphReconciler(h.kube, h.controller.assets.object_created)
        await reconciler.reconcile(h.kube.objects[("assetgraphs", NS, "g")], h.now)
        await h.advance(1.5)
        assert asset_status(h, "a")["latest"]["run"] == "r1"

    run_async(scenario)


def test_stale_marks_on_children_are_written_before_the_final_run_status() -> None:
    async def scenario() -> None:
        h = Harness(asset_interval=10.0)  # no debounced write falls due here
        with_assets(h, ["a", "b"])
        await h.add_graph(graph_body(assets=[asset("a"), asset("b", ["a"])]))
        await h.create_run("r0")
        await h.succeed("r0", "a")
        await h.succeed("r0", "b")
        await h.advance(1)
        assert asset_status(h, "b")["health"] == "Fresh"
        await h.create_run("r1", selection="a")
        await h.succeed("r1", "a")  # no timer fires: the finish itself writes b's mark
        assert h.phase("r1") == "Succeeded"
        assert asset_status(h, "b")["health"] == "Stale"

    run_async(scenario)
