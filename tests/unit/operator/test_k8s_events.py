"""Kubernetes Events: a per-run budget for step Events (like client-go's spam filter),
saying how many similar ones it held back."""

from __future__ import annotations

from fake_cluster import Harness, asset, graph_body, run_async

from kasset.operator.model.k8s_events import EventBudget, build_event


def test_the_budget_allows_a_burst_then_one_per_interval_counting_the_held() -> None:
    budget = EventBudget(burst=2, interval=10.0)
    key = ("uid-1", "StepSucceeded")
    assert [budget.admit(key, 0.0) for _ in range(4)] == [0, 0, None, None]
    assert budget.admit(key, 10.0) == 2  # one token back; two were held meanwhile
    assert budget.admit(("uid-1", "StepFailed"), 10.0) == 0  # reasons have their own
    assert budget.admit(("uid-2", "StepSucceeded"), 10.0) == 0  # and runs too


def test_forgetting_a_run_drops_its_budgets() -> None:
    budget = EventBudget(burst=1, interval=10.0)
    budget.admit(("uid-1", "StepSucceeded"), 0.0)
    budget.forget("uid-1")
    assert budget.admit(("uid-1", "StepSucceeded"), 0.0) == 0


def test_a_wide_run_announces_its_first_steps_then_summarises() -> None:
    async def scenario() -> None:
        h = Harness()
        leaves = [asset(f"leaf{i:02d}", ["root"]) for i in range(40)]
        await h.add_graph(graph_body(assets=[asset("root"), *leaves]))
        await h.create_run("r1")
        await h.succeed("r1", "root")
        for i in range(40):
            await h.succeed("r1", f"leaf{i:02d}")
        await h.advance(10)
        assert h.phase("r1") == "Succeeded"
        succeeded = [e for e in h.kube.events if e["reason"] == "StepSucceeded"]
        assert len(succeeded) == 25  # 41 steps, one budget, no time passed between them
        assert h.kube.reasons()[-1] == "RunSucceeded"  # run Events are never held back

    run_async(scenario)


def test_a_held_back_count_is_said_in_the_next_event() -> None:
    async def scenario() -> None:
        h = Harness()
        chain = [asset(f"s{i:02d}", [f"s{i - 1:02d}"] if i else []) for i in range(30)]
        await h.add_graph(graph_body(assets=chain))
        await h.create_run("r1")
        for i in range(27):
            await h.succeed("r1", f"s{i:02d}")
        await h.advance(20)  # two tokens back
        await h.succeed("r1", "s27")
        last = [e for e in h.kube.events if e["reason"] == "StepSucceeded"][-1]
        assert "s27 succeeded" in last["message"]
        assert "(+2 similar not announced)" in last["message"]

    run_async(scenario)


def test_an_event_is_named_by_its_fact_not_by_the_held_back_count() -> None:
    involved = {"name": "r1", "namespace": "default", "uid": "u1"}
    plain = build_event(involved, "StepSucceeded", "step a succeeded (attempt 1)", 0.0)
    counted = build_event(
        involved,
        "StepSucceeded",
        "step a succeeded (attempt 1) (+3 similar not announced)",
        5.0,
        identity="step a succeeded (attempt 1)",
    )
    assert plain["metadata"]["name"] == counted["metadata"]["name"]  # a restart's 409
