"""The API-write budget: at most 4 writes per step, status writes batched, and the
downstream pod created without waiting for any timer."""

from __future__ import annotations

from fake_cluster import Harness, asset, graph_body, run_async

from kasset import naming


def chain(n: int) -> list[dict[str, object]]:
    return [asset(f"s{i:03d}", [f"s{i - 1:03d}"] if i else []) for i in range(n)]


def test_a_chain_costs_four_api_writes_per_step_plus_three_per_run() -> None:
    """Per step: its pod, its share of status writes, its Event, its Asset's status.
    Per run: RunStarted and RunSucceeded Events and the first status write."""

    async def scenario() -> None:
        h = Harness(status_interval=0.25, asset_interval=1.0)
        steps = 30
        await h.add_graph(graph_body(assets=chain(steps)))
        await h.create_run("r1")
        for i in range(steps):
            await h.advance(0.5)  # the step runs for a while
            await h.succeed("r1", f"s{i:03d}")
        await h.advance(2)
        assert h.phase("r1") == "Succeeded"
        writes = len(h.kube.writes)
        by_kind: dict[tuple[str, str], int] = {}
        for write in h.kube.writes:
            by_kind[write] = by_kind.get(write, 0) + 1
        assert by_kind[("create", "pods")] == steps
        assert by_kind[("patch", "materializations/status")] <= steps + 1
        assert writes <= 4 * steps + 3, by_kind

    run_async(scenario)


def test_fast_steps_share_status_writes() -> None:
    async def scenario() -> None:
        h = Harness(status_interval=0.25, asset_interval=1.0, step_events="failures")
        steps = 40
        await h.add_graph(graph_body(assets=chain(steps)))
        await h.create_run("r1")
        for i in range(steps):
            await h.advance(0.01)
            await h.succeed("r1", f"s{i:03d}")
        await h.advance(2)
        status_writes = h.kube.writes.count(("patch", "materializations/status"))
        assert status_writes <= steps * 0.01 / 0.25 + 3
        assert h.phase("r1") == "Succeeded"

    run_async(scenario)


def test_the_downstream_pod_is_created_before_any_timer_runs() -> None:
    async def scenario() -> None:
        h = Harness(status_interval=10.0)
        await h.add_graph(graph_body(assets=chain(2)))
        await h.create_run("r1")
        await h.controller.intake.submit_events(
            "default", "r1", [h.event("r1", "s000", "STEP_SUCCEEDED")]
        )
        await h.controller.drain()  # background I/O only: no timer fired, clock unchanged
        assert naming.step_pod_name("r1", "s001", 1) in h.pod_names()

    run_async(scenario)
