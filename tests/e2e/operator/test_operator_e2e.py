"""The operator end to end, with real step pods on the local cluster (issue 4, "Tests and
numbers"): every test gets a namespace enforcing Pod Security `restricted`, hostPath storage
and its own `kasset operator` host process; step pods run the test image built by
hack/e2e-image (the kasset image + examples/ + tests/e2e/projects/).

Numbers (wall times, pod start latency, inter-step gap) are printed (`-s` shows them) and
attached to the report as properties; nothing here asserts a timing beyond its timeout.
Each test's timeout covers the test body only (`func_only`): the session's image build and
the wait for a foreign cluster-wide operator to leave (see conftest.py) are bounded apart.

    eval "$(hack/cluster env)"
    python -m pytest -p no:cacheprovider -s tests/e2e/operator      # ~5 min, 2 cores

Env: KASSET_E2E_IMAGE (skip hack/e2e-image), KASSET_E2E_OPERATOR_ARGS (extra operator
flags, e.g. "--log-level debug"), KASSET_E2E_FOREIGN_WAIT (seconds, default 420).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from e2e_world import E2E

from kasset import naming
from kube import base_image, wait_until
from operator_harness import (
    HOST_FROM_PODS,
    apply_server_side,
    compile_graph,
    histogram_quantile,
    metric_samples,
    restricted_violations,
    unused_port_on,
)

pytestmark = pytest.mark.cluster
RecordProperty = Any


def _steps(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["key"]: s for s in status.get("steps", [])}


def _assets(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["asset"]: a for a in status.get("assets", [])}


def _pod_start_numbers(e2e: E2E, record: RecordProperty, label: str) -> None:
    text = e2e.op.metrics()
    count = metric_samples(text, "kasset_pod_start_latency_seconds_count")
    total = metric_samples(text, "kasset_pod_start_latency_seconds_sum")
    n, s = sum(count.values()), sum(total.values())
    if n:
        p50 = histogram_quantile(text, "kasset_pod_start_latency_seconds", 0.5)
        print(
            f"[{label}] pod start latency (created -> STEP_STARTED): n={n:.0f} "
            f"mean={s / n:.2f}s p50~{p50:.2f}s"
        )
        record("pod_start_latency_mean_s", round(s / n, 3))


def _events(e2e: E2E, reason: str) -> list[dict[str, Any]]:
    items = e2e.kube.get_json("events", namespace=e2e.namespace)["items"]
    return [e for e in items if e.get("reason") == reason]


# 1 ---------------------------------------------------------------------------------------


@pytest.mark.timeout(420, func_only=True)
def test_population_example_materializes_on_real_pods(
    e2e: E2E, record_property: RecordProperty
) -> None:
    import kasset
    from operator_harness import load_project

    module = load_project("examples.population.definitions")
    e2e.start_operator()
    e2e.apply_graph("examples.population.definitions", "defs", name="population")
    keys = ["country_populations", "continent_change_model", "continent_stats"]

    submitted = e2e.submit("population-1", "population")
    status = e2e.wait_run("population-1", timeout=300)
    wall = time.monotonic() - submitted
    print(f"\n[population] 3 steps, run wall time {wall:.1f}s (submit -> Succeeded seen)")
    record_property("run_wall_s", round(wall, 2))
    _pod_start_numbers(e2e, record_property, "population")

    assert status["counts"]["succeeded"] == 3 and status["counts"]["total"] == 3, status
    assert {a["asset"]: a["phase"] for a in status["assets"]} == dict.fromkeys(keys, "Succeeded")

    # Asset status is written on its own (throttled) cadence: poll for it.
    for key in keys:
        latest = wait_until(
            lambda key=key: e2e.asset_status("population", key).get("latest"),
            30,
            f"Asset {key} status.latest",
        )
        assert latest["run"] == "population-1", latest
        assert latest.get("time"), latest
        assert e2e.asset_status("population", key).get("health") == "Fresh"

    table = e2e.kube.kubectl("get", "mat,assets", "-n", e2e.namespace).stdout
    print(table)
    mat_line = next(line for line in table.splitlines() if "population-1" in line)
    assert "Succeeded" in mat_line, table
    for key in keys:
        line = next(line for line in table.splitlines() if f" {key} " in f" {line} ")
        assert "Fresh" in line, table

    expected = kasset.materialize(module.defs)
    assert expected.success
    import pandas.testing

    for key in ("country_populations", "continent_stats"):
        pandas.testing.assert_frame_equal(e2e.storage.read(key), expected.output_for(key))
    model = e2e.storage.read("continent_change_model")
    assert list(model.coef_) == pytest.approx(
        list(expected.output_for("continent_change_model").coef_)
    )


# 2 ---------------------------------------------------------------------------------------


@pytest.mark.timeout(240, func_only=True)
def test_a_flaky_asset_in_a_diamond_succeeds_on_retry(
    e2e: E2E, record_property: RecordProperty
) -> None:
    e2e.start_operator()
    e2e.apply_graph("e2e_projects.diamond", name="diamond")
    submitted = e2e.submit("diamond-1", "diamond")
    # the run's conditions are Job-like: kubectl wait works on them
    waited = e2e.kube.kubectl(
        "wait",
        "--for=condition=Succeeded",
        "mat/diamond-1",
        "-n",
        e2e.namespace,
        "--timeout=180s",
        timeout=200,
    )
    assert "condition met" in waited.stdout, waited.stdout
    status = e2e.wait_run("diamond-1", timeout=180)
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions == {"Running": "False", "Succeeded": "True", "Failed": "False"}, status
    wall = time.monotonic() - submitted
    print(f"\n[diamond] 4 steps + 1 retry (delay 1s), run wall time {wall:.1f}s")
    record_property("run_wall_s", round(wall, 2))

    steps = _steps(status)
    assert steps["flaky"]["attempts"] == 2, steps
    assert all(steps[k]["attempts"] == 1 for k in ("left", "right", "joined")), steps
    first, second = (naming.step_pod_name("diamond-1", "flaky", n) for n in (1, 2))
    assert first != second

    # The run finishes on the steps' HTTP events; the kubelet reports the pods' own phases
    # a little later (on an idle node the second pod can still read Pending here).
    def phases() -> dict[str, Any] | None:
        found = {p["metadata"]["name"]: p for p in e2e.pods()}
        done = {name: (found.get(name) or {}).get("status", {}).get("phase") for name in found}
        return found if done.get(first) == "Failed" and done.get(second) == "Succeeded" else None

    pods = wait_until(phases, 60, f"pods {first} Failed and {second} Succeeded")
    assert pods[first]["metadata"]["labels"]["kasset.io/attempt"] == "1"
    assert pods[second]["metadata"]["labels"]["kasset.io/attempt"] == "2"
    # one pod per step attempt: 5 pods, named as kasset.naming says
    expected = {second, first} | {
        naming.step_pod_name("diamond-1", k, 1) for k in ("left", "right", "joined")
    }
    assert set(pods) == expected
    assert e2e.storage.read("joined") == {"left": 11, "right": 20, "sum": 31}
    retrying = _events(e2e, "StepRetrying")
    assert any("ConnectionError" in e["message"] or "flaky" in e["message"] for e in retrying), (
        retrying
    )


# 3 ---------------------------------------------------------------------------------------


@pytest.mark.timeout(240, func_only=True)
def test_a_failing_blocking_check_fails_the_run_and_skips_downstream(e2e: E2E) -> None:
    e2e.start_operator()
    e2e.apply_graph("e2e_projects.checks", name="checks")
    e2e.submit("checks-1", "checks")
    downstream_pod = naming.step_pod_name("checks-1", "published", 1)

    def finished() -> dict[str, Any] | None:
        e2e.pods()  # remembers every pod name seen while the run goes
        status = e2e.status("materializations", "checks-1")
        return status if status.get("phase") in ("Succeeded", "Failed", "Canceled") else None

    status = wait_until(finished, 180, "checks-1 to finish", interval=0.25, on_timeout=e2e.diagnose)
    print(f"\n[checks] phase {status['phase']}: {status.get('message')}")
    assert status["phase"] == "Failed", status
    waited = e2e.kube.kubectl(
        "wait", "--for=condition=Failed", "mat/checks-1", "-n", e2e.namespace, "--timeout=30s"
    )
    assert "condition met" in waited.stdout, waited.stdout
    message = status.get("message") or ""
    assert "readings" in message and "no_negatives" in message, message
    assert _assets(status)["published"]["phase"] == "Skipped", status["assets"]
    assert status["counts"]["skipped"] == 1, status["counts"]
    checks = _steps(status)["readings"].get("checks", [])
    assert {k: v for k, v in checks[0].items() if k in ("name", "passed")} == {
        "name": "no_negatives",
        "passed": False,
    }, checks
    # the check guards storage too: readings materialized, its child never ran
    assert e2e.storage.read("readings") == [281.5, -4.0, 280.9]
    time.sleep(1)  # a late launch would show up by now
    assert downstream_pod not in e2e.seen_pods | e2e.pod_names()
    assert not e2e.kube.get_json(
        "pods", "-l", "kasset.io/asset=published", namespace=e2e.namespace
    )["items"]
    check = e2e.asset_status("checks", "readings")
    wait_until(
        lambda: e2e.asset_status("checks", "readings").get("checks"),
        30,
        "Asset readings check results",
    )
    check = e2e.asset_status("checks", "readings")["checks"]
    assert check[0]["name"] == "no_negatives" and check[0]["passed"] is False, check


# 4 ---------------------------------------------------------------------------------------


@pytest.mark.timeout(240, func_only=True)
def test_a_partition_range_runs_one_pod_per_partition(
    e2e: E2E, record_property: RecordProperty
) -> None:
    e2e.start_operator()
    e2e.apply_graph("e2e_projects.partitioned", name="parts")
    days = ["2024-03-01", "2024-03-02", "2024-03-03"]
    submitted = e2e.submit(
        "range-1", "parts", partitions={"range": {"start": days[0], "end": days[-1]}}
    )
    status = e2e.wait_run("range-1", timeout=180)
    wall = time.monotonic() - submitted
    print(f"\n[range] 3 partition steps, run wall time {wall:.1f}s")
    record_property("run_wall_s", round(wall, 2))

    assert status["counts"]["total"] == 3 and status["counts"]["succeeded"] == 3, status
    summary = _assets(status)["daily_key"]
    assert summary["phase"] == "Succeeded" and summary["succeeded"] == f"{days[0]}..{days[-1]}"
    for day in days:
        assert e2e.storage.read("daily_key", day) == {"partition": day, "run": "range-1"}
    pods = e2e.pods()
    assert len(pods) == 3
    by_step = {p["metadata"]["annotations"]["kasset.io/step"]: p for p in pods}
    assert set(by_step) == {f"daily_key[{d}]" for d in days}
    for step, pod in by_step.items():
        env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
        assert env["KASSET_STEP"] == step
        assert pod["metadata"]["name"] == naming.step_pod_name("range-1", step, 1)

    # Asset status is written on its own throttled cadence (--asset-interval): the first
    # write may hold only the first partition to finish; the range completes by the next.
    wanted = f"{days[0]}..{days[-1]}"
    seen: list[str] = []

    def materialized() -> bool:
        value = (e2e.asset_status("parts", "daily_key").get("partitions") or {}).get("materialized")
        if value and (not seen or seen[-1] != value):
            seen.append(value)
        return value == wanted

    wait_until(materialized, 30, f"Asset daily_key partitions {wanted}")
    print(f"[range] Asset partitions.materialized went {seen}")
    asset = e2e.asset_status("parts", "daily_key")["partitions"]
    assert asset["materializedCount"] == 3 and asset["total"] == 3, asset


# 5 ---------------------------------------------------------------------------------------


@pytest.mark.timeout(240, func_only=True)
def test_cancel_stops_a_slow_run_quickly(e2e: E2E, record_property: RecordProperty) -> None:
    e2e.start_operator()
    e2e.apply_graph("e2e_projects.slow", name="slow")
    e2e.submit("cancel-1", "slow", selection="sleeper+")
    pod = naming.step_pod_name("cancel-1", "sleeper", 1)
    wait_until(
        lambda: (
            _steps(e2e.status("materializations", "cancel-1")).get("sleeper", {}).get("phase")
            == "Running"
            and e2e.kube.get_json("pod", pod, namespace=e2e.namespace)["status"].get("phase")
            == "Running"
        ),
        120,
        "the sleeper step running",
        on_timeout=e2e.diagnose,
    )
    time.sleep(1)  # let the runtime report STEP_STARTED and get into the sleep
    started = time.monotonic()
    e2e.kube.kubectl(
        "patch",
        "mat",
        "cancel-1",
        "-n",
        e2e.namespace,
        "--type",
        "merge",
        "-p",
        '{"spec": {"cancel": true}}',
    )
    status = e2e.wait_run("cancel-1", ("Canceled",), timeout=30)
    to_canceled = time.monotonic() - started

    def pod_stopped() -> bool:
        items = e2e.kube.get_json("pods", namespace=e2e.namespace)["items"]
        live = [
            p
            for p in items
            if p["status"].get("phase") in ("Pending", "Running")
            and not p["metadata"].get("deletionTimestamp")
        ]
        return not live

    wait_until(pod_stopped, 30, "the sleeper pod deleted or stopped", on_timeout=e2e.diagnose)
    wait_until(
        lambda: pod not in e2e.pod_names(), 45, "the sleeper pod gone", on_timeout=e2e.diagnose
    )
    to_gone = time.monotonic() - started
    print(f"\n[cancel] cancel -> Canceled {to_canceled:.2f}s, -> pod gone {to_gone:.2f}s")
    record_property("cancel_to_canceled_s", round(to_canceled, 2))
    record_property("cancel_to_pod_gone_s", round(to_gone, 2))
    assert to_canceled < 15, to_canceled
    assert status["counts"]["canceled"] >= 1, status["counts"]
    assert status["counts"]["succeeded"] == 0
    assert naming.step_pod_name("cancel-1", "after_sleeper", 1) not in e2e.seen_pods


# 6 ---------------------------------------------------------------------------------------


def _evict(e2e: E2E, pod: str) -> None:
    """What `kubectl drain` does to each pod: the Eviction API (policy/v1)."""
    eviction = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": pod, "namespace": e2e.namespace},
    }
    path = f"/api/v1/namespaces/{e2e.namespace}/pods/{pod}/eviction"
    e2e.kube.kubectl("create", "--raw", path, "-f", "-", input=json.dumps(eviction))


@pytest.mark.timeout(240, func_only=True)
@pytest.mark.parametrize("how", ["deleted", "evicted"])
def test_a_pod_deleted_mid_run_is_retried_as_lost_to_the_infrastructure(e2e: E2E, how: str) -> None:
    e2e.start_operator()
    e2e.apply_graph("e2e_projects.slow", name="slow")
    e2e.submit("deleted-1", "slow", selection="deletable")
    first = naming.step_pod_name("deleted-1", "deletable", 1)
    wait_until(
        lambda: (
            _steps(e2e.status("materializations", "deleted-1")).get("deletable", {}).get("phase")
            == "Running"
            and e2e.kube.get_json("pod", first, namespace=e2e.namespace)["status"].get("phase")
            == "Running"
        ),
        120,
        "the deletable step running",
        on_timeout=e2e.diagnose,
    )
    time.sleep(1)
    if how == "evicted":
        _evict(e2e, first)  # a node drain: SIGTERM, a DisruptionTarget condition
    else:
        e2e.kube.kubectl("delete", "pod", first, "-n", e2e.namespace, "--wait=false")
    status = e2e.wait_run("deleted-1", timeout=120)
    step = _steps(status)["deletable"]
    # The deleted pod's attempt is retried as lost to the infrastructure: the asset's
    # retry policy (one retry) is left unspent.
    assert (step["attempts"], step.get("infraRetries")) == (2, 1), step
    assert e2e.storage.read("deletable") == 2
    second = naming.step_pod_name("deleted-1", "deletable", 2)
    assert second in e2e.pod_names()
    retrying = wait_until(lambda: _events(e2e, "StepRetrying"), 30, "a StepRetrying event")
    messages = [e["message"] for e in retrying]
    print(f"\n[pod {how}] retry reason: {messages}")
    # a retried attempt is not a failure of the step: no StepFailed, the Asset stays healthy
    assert not _events(e2e, "StepFailed"), _events(e2e, "StepFailed")
    wait_until(lambda: e2e.asset_status("slow", "deletable").get("latest"), 30, "latest")
    asset = e2e.asset_status("slow", "deletable")
    assert asset.get("health") == "Fresh" and "lastFailure" not in asset, asset
    said = "EvictionByEvictionAPI" if how == "evicted" else "deleted"
    assert any(said in m or "terminated" in m.lower() for m in messages), messages
    assert all("not the code's fault: 1 of 3 free retries used" in m for m in messages), messages


@pytest.mark.timeout(120, func_only=True)
def test_an_image_without_kasset_fails_at_once_with_the_reason(e2e: E2E) -> None:
    """A real kubelet's StartError for an image that cannot run the step is the user's to
    fix: not retried as lost to the infrastructure."""
    e2e.start_operator()
    manifest = compile_graph(
        "e2e_projects.slow", "defs", image=base_image(), name="bare", namespace=e2e.namespace
    )
    apply_server_side(e2e.kube, manifest)
    e2e.wait_graph_ready("bare")
    e2e.submit("bare-1", "bare", selection="sleeper")
    status = e2e.wait_run("bare-1", phases=("Failed",), timeout=90)
    step = _steps(status)["sleeper"]
    print(f"\n[image without kasset] {step['message']}")
    assert (step["attempts"], step.get("infraRetries", 0)) == (1, 0), step
    assert "could not start (StartError)" in step["message"], step
    assert "must have kasset installed" in step["message"], step


# 7 ---------------------------------------------------------------------------------------


@pytest.mark.timeout(120, func_only=True)
def test_a_cycle_is_rejected_with_its_path(e2e: E2E) -> None:
    e2e.start_operator()
    manifest = {
        "apiVersion": "kasset.io/v1alpha1",
        "kind": "AssetGraph",
        "metadata": {"name": "loop", "namespace": e2e.namespace},
        "spec": {
            "image": e2e.image,
            "codeLocation": {"module": "e2e_projects.chain", "attribute": "defs"},
            "assets": [
                {"key": "a", "deps": ["c"]},
                {"key": "b", "deps": ["a"]},
                {"key": "c", "deps": ["b"]},
                {"key": "d", "deps": ["a"]},
            ],
        },
    }
    from operator_harness import apply_server_side

    apply_server_side(e2e.kube, manifest)
    invalid = wait_until(
        lambda: next(
            (
                c
                for c in e2e.status("assetgraphs", "loop").get("conditions", [])
                if c["type"] == "Invalid" and c["status"] == "True"
            ),
            None,
        ),
        60,
        "AssetGraph loop Invalid",
        on_timeout=e2e.diagnose,
    )
    print(f"\n[cycle] {invalid['reason']}: {invalid['message']}")
    message = invalid["message"]
    assert "cycle" in message.lower(), invalid
    # the path names every asset of the cycle, in order (any rotation), and not `d`
    assert any(
        path in message.replace(" ", "") for path in ("a->b->c->a", "b->c->a->b", "c->a->b->c")
    ) or all(k in message for k in ("a", "b", "c")), message
    ready = [c for c in e2e.status("assetgraphs", "loop")["conditions"] if c["type"] == "Ready"]
    assert all(c["status"] == "False" for c in ready), ready
    # a run of an invalid graph does not launch anything
    e2e.submit("loop-1", "loop")
    status = e2e.wait_run("loop-1", ("Failed",), timeout=60)
    print(f"[cycle] run of the invalid graph: {status.get('message')}")
    assert not e2e.pods()


# 8 ---------------------------------------------------------------------------------------


@pytest.mark.timeout(240, func_only=True)
def test_a_schedule_tick_creates_a_deterministically_named_run(e2e: E2E) -> None:
    """There is no faster tick for tests: cron has minute resolution, so this waits for the
    next minute boundary (up to ~60 s) plus the run."""
    from datetime import UTC, datetime

    e2e.start_operator()
    applied_at = datetime.now(UTC)
    e2e.apply_graph("e2e_projects.chain", "scheduled", name="sched")

    def scheduled_run() -> dict[str, Any] | None:
        items = e2e.kube.get_json("mat", namespace=e2e.namespace)["items"]
        return items[0] if items else None

    run = wait_until(
        scheduled_run,
        100,
        "a Materialization from the schedule",
        interval=1,
        on_timeout=e2e.diagnose,
    )
    name = run["metadata"]["name"]
    tick = datetime.fromisoformat(
        run["metadata"]["annotations"]["kasset.io/tick"].replace("Z", "+00:00")
    )
    print(f"\n[schedule] applied {applied_at:%H:%M:%S}, tick {tick:%H:%M:%S} -> {name}")
    assert tick.second == 0 and tick >= applied_at.replace(second=0, microsecond=0)
    assert name == naming.schedule_run_name("sched", "every-minute", tick)
    assert run["spec"]["launchedBy"].startswith("schedule"), run["spec"]
    assert run["spec"]["selection"] == "c1"
    e2e.wait_run(name, timeout=120)
    schedules = e2e.status("assetgraphs", "sched").get("schedules", [])
    print(f"[schedule] graph status: {schedules}")
    assert schedules and schedules[0]["lastRun"] == name


# 9 ---------------------------------------------------------------------------------------


@pytest.mark.timeout(240, func_only=True)
def test_termination_messages_carry_the_run_when_the_event_url_is_unreachable(
    e2e: E2E, record_property: RecordProperty
) -> None:
    dead = f"http://{HOST_FROM_PODS}:{unused_port_on(HOST_FROM_PODS)}/api/v1/events"
    e2e.start_operator(event_url=dead)
    e2e.apply_graph("e2e_projects.chain", name="chain")
    submitted = e2e.submit("fallback-1", "chain", selection="c1,c2")
    status = e2e.wait_run("fallback-1", timeout=200)
    wall = time.monotonic() - submitted
    # How long each container ran: the runtime keeps retrying the dead URL before exiting.
    ran = {}
    for pod in e2e.pods():
        done = pod["status"]["containerStatuses"][0]["state"]["terminated"]
        ran[pod["metadata"]["annotations"]["kasset.io/step"]] = (
            f"{done['startedAt'][11:19]}..{done['finishedAt'][11:19]}"
        )
    print(
        f"\n[fallback] 2 chained steps with the event URL unreachable ({dead}): {wall:.1f}s; "
        f"containers ran {ran}"
    )
    record_property("run_wall_s", round(wall, 2))
    assert status["counts"]["succeeded"] == 2
    assert e2e.storage.read("c2") == 2
    ingested = sum(metric_samples(e2e.op.metrics(), "kasset_events_ingested_total").values())
    assert ingested == 0, "no event can have arrived over HTTP"
    latest = wait_until(lambda: e2e.asset_status("chain", "c2").get("latest"), 30, "c2 latest")
    assert latest["run"] == "fallback-1"


# 10 --------------------------------------------------------------------------------------


@pytest.mark.timeout(240, func_only=True)
def test_inter_step_gap_on_real_pods(e2e: E2E, record_property: RecordProperty) -> None:
    e2e.start_operator()
    e2e.apply_graph("e2e_projects.chain", name="chain")
    before = metric_samples(e2e.op.metrics(), "kasset_api_writes_total")
    writes_before = sum(before.values())
    submitted = e2e.submit("gap-1", "chain")
    wait_until(e2e.pod_names, 60, "the first step pod", interval=0.05)
    first_pod = time.monotonic() - submitted
    e2e.wait_run("gap-1", timeout=200)
    wall = time.monotonic() - submitted
    text = e2e.op.metrics()
    writes = sum(metric_samples(text, "kasset_api_writes_total").values()) - writes_before
    print(
        f"\n[gap] submit -> first pod seen {first_pod * 1000:.0f}ms (kubectl polling, +-50ms); "
        f"API writes {writes:.0f} for 5 steps ({writes / 5:.1f}/step, incl. Events and Assets)"
    )
    after = metric_samples(text, "kasset_api_writes_total")
    print("[gap] API writes by kind:", {k: v - before.get(k, 0) for k, v in after.items()})
    record_property("submit_to_first_pod_ms", round(first_pod * 1000))
    record_property("api_writes_per_step", round(writes / 5, 2))
    count = sum(metric_samples(text, "kasset_inter_step_gap_seconds_count").values())
    total = sum(metric_samples(text, "kasset_inter_step_gap_seconds_sum").values())
    p50 = histogram_quantile(text, "kasset_inter_step_gap_seconds", 0.5)
    p99 = histogram_quantile(text, "kasset_inter_step_gap_seconds", 0.99)
    buckets = {
        k.split('le="')[1].split('"')[0]: v
        for k, v in metric_samples(text, "kasset_inter_step_gap_seconds_bucket").items()
    }
    print(
        f"\n[gap] chain of 5 on real pods, wall {wall:.1f}s; inter-step gap n={count:.0f} "
        f"mean={total / max(count, 1) * 1000:.1f}ms p50~{(p50 or 0) * 1000:.1f}ms "
        f"p99~{(p99 or 0) * 1000:.1f}ms (bucket-interpolated); buckets {json.dumps(buckets)}"
    )
    _pod_start_numbers(e2e, record_property, "gap")
    record_property("run_wall_s", round(wall, 2))
    record_property("inter_step_gap_mean_ms", round(total / max(count, 1) * 1000, 1))
    assert count == 4, f"other operators: {e2e.foreign_operators()}\n{text}"
    # every step pod was admitted under `restricted`; re-checking them finds nothing
    labels = e2e.kube.get_json("namespace", e2e.namespace)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert len(e2e.pods()) == 5
    assert restricted_violations(e2e.kube, e2e.namespace) == ""
