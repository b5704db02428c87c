"""Whole runs driven through the controller with an in-memory API server and a fake clock."""

from __future__ import annotations

from fake_cluster import Harness, asset, graph_body, run_async

from kasset import naming

CHAIN = [asset("a"), asset("b", ["a"]), asset("c", ["b"])]
DIAMOND = [
    asset("a"),
    asset("b", ["a"], retryPolicy={"maxRetries": 2, "delaySeconds": 10}),
    asset("c", ["a"]),
    asset("d", ["b", "c"]),
]


def test_a_succeeded_step_creates_its_downstream_pod_in_the_same_call() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.add_graph(graph_body(assets=CHAIN))
        await h.create_run("r1")
        assert h.pod_names() == [naming.step_pod_name("r1", "a", 1)]
        await h.succeed("r1", "a", rows=3)
        assert naming.step_pod_name("r1", "b", 1) in h.pod_names()
        await h.succeed("r1", "b")
        await h.succeed("r1", "c")
        status = h.status("r1")
        assert status["phase"] == "Succeeded"
        assert status["counts"]["succeeded"] == 3
        assert status["completionTime"]
        step_a = next(s for s in status["steps"] if s["key"] == "a")
        assert step_a["metadata"] == {"rows": "3"}
        assert h.kube.reasons().count("StepSucceeded") == 3
        assert h.kube.reasons()[0] == "RunStarted"
        assert h.kube.reasons()[-1] == "RunSucceeded"

    run_async(scenario)


def test_a_flaky_step_is_retried_after_its_backoff_with_a_new_pod() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.add_graph(graph_body(assets=DIAMOND))
        await h.create_run("r1")
        await h.succeed("r1", "a")
        await h.succeed("r1", "c")
        await h.fail("r1", "b", message="flaky network")
        second = naming.step_pod_name("r1", "b", 2)
        assert second not in h.pod_names()
        status = h.status("r1")
        b = next(s for s in status["steps"] if s["key"] == "b")
        assert b["phase"] == "WaitingRetry" and b["nextAttemptTime"]
        assert status["counts"]["waitingRetry"] == 1
        await h.advance(9)
        assert second not in h.pod_names()
        await h.advance(1)
        assert second in h.pod_names()
        assert second != naming.step_pod_name("r1", "b", 1)
        await h.succeed("r1", "b", attempt=2)
        await h.succeed("r1", "d")
        assert h.phase("r1") == "Succeeded"
        assert "StepRetrying" in h.kube.reasons()

    run_async(scenario)


def test_a_failed_blocking_check_skips_downstream_and_fails_the_run_naming_the_step() -> None:
    async def scenario() -> None:
        h = Harness()
        checked = asset(
            "a", checks=[{"name": "has_rows", "blocking": True}], retryPolicy={"maxRetries": 3}
        )
        await h.add_graph(graph_body(assets=[checked, asset("b", ["a"])]))
        await h.create_run("r1")
        check = {"name": "has_rows", "passed": False, "severity": "ERROR"}
        await h.report(
            "r1",
            h.event("r1", "a", "ASSET_MATERIALIZED"),
            h.event("r1", "a", "ASSET_CHECK_EVALUATED", check=check),
            h.event("r1", "a", "STEP_SUCCEEDED"),
        )
        status = h.status("r1")
        assert status["phase"] == "Failed"
        assert "a: blocking check 'has_rows' failed" in status["message"]
        assert status["counts"]["skipped"] == 1
        assert naming.step_pod_name("r1", "b", 1) not in h.pod_names()
        assert naming.step_pod_name("r1", "a", 2) not in h.pod_names()  # not retried

    run_async(scenario)


def test_cancel_stops_running_pods_and_cancels_the_run() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.add_graph(graph_body(assets=[asset("a"), asset("b"), asset("c", ["a"])]))
        await h.create_run("r1")
        assert len(h.pod_names()) == 2
        await h.update_run("r1", cancel=True)
        assert h.pod_names() == []
        status = h.status("r1")
        assert status["phase"] == "Canceled"
        assert status["counts"]["canceled"] == 3
        assert "RunCanceled" in h.kube.reasons()

    run_async(scenario)


def test_deleting_the_materialization_deletes_its_running_pods() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.add_graph(graph_body(assets=[asset("a"), asset("b")]))
        await h.create_run("r1")
        await h.delete_run("r1")
        assert h.pod_names() == []
        assert ("default", "r1") not in h.controller.table.runs

    run_async(scenario)


def test_pods_lost_to_the_node_are_retried_for_free_then_fail_with_the_reason() -> None:
    async def scenario() -> None:
        h = Harness(infra_retries=2)
        await h.add_graph(graph_body(assets=[asset("a")]))
        await h.create_run("r1")
        await h.pod_update("r1", "a", phase="Running")
        await h.pod_update("r1", "a", phase="Running", event_type="DELETED")
        step = h.status("r1")["steps"][0]
        assert (step["phase"], step["infraRetries"]) == ("WaitingRetry", 1)
        assert "deleted while the step was running" in step["message"]
        assert "StepRetrying" in h.kube.reasons()
        await h.advance(2)
        await h.pod_terminated("r1", "a", 2, phase="Failed", exit_code=128, reason="StartError")
        assert h.status("r1")["steps"][0]["infraRetries"] == 2
        await h.advance(4)
        # The budget is spent: the third loss fails the step (its policy allows no retry).
        await h.pod_update("r1", "a", 3, phase="Running", event_type="DELETED")
        status = h.status("r1")
        assert status["phase"] == "Failed"
        assert "deleted while the step was running" in status["message"]
        assert status["steps"][0]["attempts"] == 3

    run_async(scenario)


def test_a_step_terminated_from_outside_is_retried_for_free() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.add_graph(graph_body(assets=[asset("a")]))
        await h.create_run("r1")
        message = "the step was terminated (SIGTERM) before it finished"
        error = {"type": "Terminated", "message": message, "interrupted": True}
        await h.report("r1", h.event("r1", "a", "STEP_FAILED", 1, error=error))
        step = h.status("r1")["steps"][0]
        assert (step["phase"], step["infraRetries"]) == ("WaitingRetry", 1)
        await h.advance(2)
        await h.succeed("r1", "a", 2)
        assert h.phase("r1") == "Succeeded"

    run_async(scenario)


def test_a_failure_of_the_code_is_not_retried_as_an_infrastructure_failure() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.add_graph(graph_body(assets=[asset("a")]))
        await h.create_run("r1")
        await h.pod_terminated("r1", "a", phase="Failed", exit_code=137, reason="OOMKilled")
        assert h.phase("r1") == "Failed"
        assert "out of memory" in h.status("r1")["message"]

    run_async(scenario)


def test_a_pod_pending_too_long_fails_with_the_image_pull_reason() -> None:
    async def scenario() -> None:
        h = Harness(pending_timeout=60)
        await h.add_graph(graph_body(assets=[asset("a")]))
        await h.create_run("r1")
        waiting = {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "x"'}
        await h.pod_update(
            "r1",
            "a",
            phase="Pending",
            containerStatuses=[{"name": "step", "state": {"waiting": waiting}}],
        )
        await h.advance(59)
        assert h.phase("r1") == "Running"
        await h.advance(2)
        status = h.status("r1")
        assert status["phase"] == "Failed"
        assert "pending for 60s: ImagePullBackOff" in status["message"]
        assert naming.step_pod_name("r1", "a", 1) in h.kube.deleted_pods

    run_async(scenario)


def test_an_invalid_image_name_fails_at_once_without_retry() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.add_graph(graph_body(assets=[asset("a", retryPolicy={"maxRetries": 3})]))
        await h.create_run("r1")
        waiting = {"reason": "InvalidImageName", "message": "bad"}
        await h.pod_update(
            "r1",
            "a",
            phase="Pending",
            containerStatuses=[{"name": "step", "state": {"waiting": waiting}}],
        )
        assert h.phase("r1") == "Failed"
        assert "InvalidImageName" in h.status("r1")["message"]

    run_async(scenario)


def test_events_with_an_id_already_seen_are_ignored() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.add_graph(graph_body(assets=[asset("a")]))
        await h.create_run("r1")
        first = h.event("r1", "a", "ASSET_MATERIALIZED", metadata={"rows": 1})
        replay = {**first, "payload": {"metadata": {"rows": 2}}}
        await h.report("r1", first, replay, h.event("r1", "a", "STEP_SUCCEEDED"))
        step = h.status("r1")["steps"][0]
        assert step["metadata"] == {"rows": "1"}

    run_async(scenario)


def test_the_termination_message_is_the_fallback_when_no_http_event_came() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.add_graph(graph_body(assets=[asset("a"), asset("b", ["a"])]))
        await h.create_run("r1")
        events = [
            h.event("r1", "a", "ASSET_MATERIALIZED", metadata={"rows": 7}),
            h.event("r1", "a", "STEP_SUCCEEDED"),
        ]
        await h.pod_terminated("r1", "a", phase="Succeeded", exit_code=0, events=events)
        assert naming.step_pod_name("r1", "b", 1) in h.pod_names()
        step = next(s for s in h.status("r1")["steps"] if s["key"] == "a")
        assert step["phase"] == "Succeeded" and step["metadata"] == {"rows": "7"}
        # The same events over HTTP later change nothing.
        await h.report("r1", *events)
        assert h.kube.reasons().count("StepSucceeded") == 1

    run_async(scenario)


def test_a_non_retryable_failure_in_the_termination_message_is_not_retried() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.add_graph(graph_body(assets=[asset("a", retryPolicy={"maxRetries": 3})]))
        await h.create_run("r1")
        error = {"type": "CodeLocationError", "message": "no module", "retryable": False}
        events = [h.event("r1", "a", "STEP_FAILED", error=error)]
        await h.pod_terminated("r1", "a", phase="Failed", exit_code=1, events=events)
        status = h.status("r1")
        assert status["phase"] == "Failed"
        assert "CodeLocationError: no module" in status["message"]

    run_async(scenario)


def test_an_oom_killed_step_fails_with_a_readable_message_and_is_retried() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.add_graph(graph_body(assets=[asset("a", retryPolicy={"maxRetries": 1})]))
        await h.create_run("r1")
        await h.pod_terminated("r1", "a", phase="Failed", exit_code=137, reason="OOMKilled")
        assert naming.step_pod_name("r1", "a", 2) in h.pod_names()
        step = h.status("r1")["steps"][0]
        assert "out of memory" in step["message"]

    run_async(scenario)


def test_the_global_limit_caps_running_steps_across_runs_and_shares_slots() -> None:
    async def scenario() -> None:
        h = Harness(max_running=2)
        await h.add_graph(graph_body(assets=[asset("a"), asset("b"), asset("c")]))
        await h.create_run("r1")
        await h.create_run("r2")
        assert len(h.pod_names("r1")) == 2 and h.pod_names("r2") == []
        await h.succeed("r1", "a")
        assert len(h.pod_names()) == 3
        assert len(h.pod_names("r2")) == 1  # the freed slot went to the waiting run
        running = sum(r.running_count for r in h.controller.table.runs.values())
        assert running == 2
        for run, step in [("r1", "b"), ("r2", "a"), ("r1", "c"), ("r2", "b"), ("r2", "c")]:
            await h.succeed(run, step)
            assert sum(r.running_count for r in h.controller.table.runs.values()) <= 2
        assert h.phase("r1") == h.phase("r2") == "Succeeded"

    run_async(scenario)


def test_a_run_of_a_missing_graph_is_failed_as_invalid() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.create_run("r1", graph="nope")
        status = h.status("r1")
        assert status["phase"] == "Failed"
        condition = status["conditions"][0]
        assert condition["type"] == "Invalid" and condition["reason"] == "Invalid"
        assert "AssetGraph 'nope' not found" in condition["message"]

    run_async(scenario)


def test_a_bad_selection_is_failed_as_invalid_with_the_reason() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.add_graph(graph_body(assets=[asset("orders")]))
        await h.create_run("r1", selection="order")
        assert h.phase("r1") == "Failed"
        assert "did you mean 'orders'" in h.status("r1")["message"]

    run_async(scenario)


def test_partitioned_steps_are_summarised_as_ranges() -> None:
    async def scenario() -> None:
        h = Harness()
        daily = {"name": "daily", "type": "daily", "start": "2024-01-01"}
        await h.add_graph(
            graph_body(assets=[asset("d", partitions="daily")], partitionsDefinitions=[daily])
        )
        await h.create_run("r1", partitions={"range": {"start": "2024-01-01", "end": "2024-01-05"}})
        for day in ("01", "02", "03", "05"):
            await h.succeed("r1", f"d[2024-01-{day}]")
        summary = h.status("r1")["assets"][0]
        assert summary["succeeded"] == "2024-01-01..2024-01-03,2024-01-05"
        assert summary["phase"] == "Running"

    run_async(scenario)


def test_ttl_after_finished_deletes_the_materialization() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.add_graph(graph_body(assets=[asset("a")]))
        await h.create_run("r1", ttlSecondsAfterFinished=30)
        await h.succeed("r1", "a")
        assert ("materializations", "default", "r1") in h.kube.objects
        await h.advance(31)
        assert ("materializations", "default", "r1") not in h.kube.objects

    run_async(scenario)


def test_history_limit_deletes_the_oldest_finished_runs() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.add_graph(graph_body(assets=[asset("a")], historyLimit=2))
        for name in ("r1", "r2", "r3"):
            await h.create_run(name)
            await h.advance(1)
            await h.succeed(name, "a")
        remaining = sorted(n for (p, _, n) in h.kube.objects if p == "materializations")
        assert remaining == ["r2", "r3"]

    run_async(scenario)


def test_a_retry_without_delay_is_a_retry_not_a_failure() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.add_graph(graph_body(assets=[asset("a", retryPolicy={"maxRetries": 1})]))
        await h.create_run("r1")
        await h.fail("r1", "a", message="flaky")
        assert naming.step_pod_name("r1", "a", 2) in h.pod_names()  # relaunched at once
        await h.succeed("r1", "a", attempt=2)
        assert h.phase("r1") == "Succeeded"
        reasons = h.kube.reasons()
        assert "StepRetrying" in reasons and "StepFailed" not in reasons

    run_async(scenario)
