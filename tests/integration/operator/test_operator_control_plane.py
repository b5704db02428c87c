"""The operator against a real API server: CRDs, Assets and conditions, run status on the
status subresource, step events over HTTP, cancel. No pod needs to run: steps report as a
step pod would, with their HMAC token."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kasset import naming
from kasset.operator.model.auth import step_token
from kube import Kube, wait_until
from operator_harness import SECRET, operator

pytestmark = pytest.mark.control_plane
CRDS = Path(__file__).resolve().parents[3] / "crds"


@pytest.fixture
def running(kube: Kube, namespace: str) -> Iterator[int]:
    for crd in sorted(CRDS.glob("*.yaml")):
        kube.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(crd))
    for name in ("assetgraphs", "assets", "materializations"):
        kube.kubectl("wait", "--for=condition=Established", f"crd/{name}.kasset.io")
    with operator(kube.kubeconfig, namespace) as running:
        yield running.port


def graph(name: str, assets: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "kasset.io/v1alpha1",
        "kind": "AssetGraph",
        "metadata": {"name": name},
        "spec": {
            "image": "kasset:missing",
            "codeLocation": {"module": "proj.defs"},
            "assets": assets,
        },
    }


def run(name: str, graph_name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kasset.io/v1alpha1",
        "kind": "Materialization",
        "metadata": {"name": name},
        "spec": {"graph": graph_name, **spec},
    }


def status(kube: Kube, namespace: str, kind: str, name: str) -> dict[str, Any]:
    return dict(kube.get_json(kind, name, namespace=namespace).get("status") or {})


def wait_phase(kube: Kube, namespace: str, name: str, phase: str) -> dict[str, Any]:
    return wait_until(
        lambda: (
            (s := status(kube, namespace, "materializations", name)).get("phase") == phase and s
        ),
        60,
        f"Materialization {name} to be {phase}",
        interval=0.2,
        on_timeout=lambda: json.dumps(status(kube, namespace, "materializations", name)),
    )


def pods(kube: Kube, namespace: str) -> set[str]:
    items = kube.get_json("pods", namespace=namespace)["items"]
    return {p["metadata"]["name"] for p in items if not p["metadata"].get("deletionTimestamp")}


def post_events(port: int, namespace: str, run_name: str, step: str, *kinds: str) -> None:
    token = step_token(SECRET.encode(), namespace, run_name, step, 1)
    events = [
        {
            "id": str(uuid.uuid4()),
            "type": kind,
            "run": run_name,
            "step": step,
            "asset": step,
            "attempt": 1,
            "timestamp": "2024-01-01T00:00:00Z",
            "payload": {"metadata": {"rows": 1}} if kind == "ASSET_MATERIALIZED" else {},
        }
        for kind in kinds
    ]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/events",
        data=json.dumps({"events": events}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202


def test_an_asset_graph_gets_its_assets_and_a_ready_condition(
    kube: Kube, namespace: str, running: int
) -> None:
    kube.apply(
        graph("demo", [{"key": "raw/a", "group": "raw"}, {"key": "b", "deps": ["raw/a"]}]),
        namespace,
    )
    ready = wait_until(
        lambda: any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in status(kube, namespace, "assetgraphs", "demo").get("conditions", [])
        ),
        60,
        "AssetGraph Ready",
        interval=0.2,
    )
    assert ready
    assets = kube.get_json("assets", namespace=namespace)["items"]
    names = {a["metadata"]["name"] for a in assets}
    assert names == {
        naming.asset_object_name("demo", "raw/a"),
        naming.asset_object_name("demo", "b"),
    }
    assert status(kube, namespace, "assetgraphs", "demo")["assetCount"] == 2
    annotations = (
        kube.get_json("assetgraph", "demo", namespace=namespace)["metadata"].get("annotations")
        or {}
    )
    assert not [a for a in annotations if "kopf" in a]  # on.event handlers persist nothing


def test_a_cycle_is_reported_as_invalid_with_its_path(
    kube: Kube, namespace: str, running: int
) -> None:
    kube.apply(graph("loop", [{"key": "a", "deps": ["b"]}, {"key": "b", "deps": ["a"]}]), namespace)
    invalid = wait_until(
        lambda: next(
            (
                c
                for c in status(kube, namespace, "assetgraphs", "loop").get("conditions", [])
                if c["type"] == "Invalid" and c["status"] == "True"
            ),
            None,
        ),
        60,
        "AssetGraph Invalid",
        interval=0.2,
    )
    assert invalid["reason"] == "CycleDetected"
    assert "a -> b -> a" in invalid["message"]


def test_a_run_of_a_missing_graph_fails_as_invalid(
    kube: Kube, namespace: str, running: int
) -> None:
    kube.apply(run("r1", "nope"), namespace)
    final = wait_phase(kube, namespace, "r1", "Failed")
    assert final["conditions"][0]["reason"] == "Invalid"
    assert "AssetGraph 'nope' not found" in final["conditions"][0]["message"]


def test_a_run_goes_step_by_step_on_reported_events(
    kube: Kube, namespace: str, running: int
) -> None:
    kube.apply(graph("chain", [{"key": "a"}, {"key": "b", "deps": ["a"]}]), namespace)
    kube.apply(run("r1", "chain"), namespace)
    pod_a, pod_b = naming.step_pod_name("r1", "a", 1), naming.step_pod_name("r1", "b", 1)
    wait_until(lambda: pod_a in pods(kube, namespace), 60, "pod of a", interval=0.1)
    pod = kube.get_json("pod", pod_a, namespace=namespace)
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "Materialization"
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert env["KASSET_EVENT_TOKEN"] == step_token(SECRET.encode(), namespace, "r1", "a", 1)
    assert pod["spec"]["automountServiceAccountToken"] is False

    started = time.monotonic()
    post_events(
        running, namespace, "r1", "a", "STEP_STARTED", "ASSET_MATERIALIZED", "STEP_SUCCEEDED"
    )
    wait_until(lambda: pod_b in pods(kube, namespace), 10, "pod of b", interval=0.02)
    assert time.monotonic() - started < 2.0  # includes kubectl polling
    post_events(running, namespace, "r1", "b", "STEP_STARTED", "STEP_SUCCEEDED")
    final = wait_phase(kube, namespace, "r1", "Succeeded")
    assert final["counts"]["succeeded"] == 2
    assert next(s for s in final["steps"] if s["key"] == "a")["metadata"] == {"rows": "1"}
    asset_a = wait_until(
        lambda: status(kube, namespace, "assets", naming.asset_object_name("chain", "a")).get(
            "latest"
        ),
        30,
        "Asset status of a",
        interval=0.2,
    )
    assert asset_a["run"] == "r1"
    reasons = {e["reason"] for e in kube.get_json("events", namespace=namespace)["items"]}
    assert {"RunStarted", "StepSucceeded", "RunSucceeded"} <= reasons


def test_cancel_deletes_the_running_pods(kube: Kube, namespace: str, running: int) -> None:
    kube.apply(graph("pair", [{"key": "a"}, {"key": "b"}]), namespace)
    kube.apply(run("r1", "pair"), namespace)
    wait_until(lambda: len(pods(kube, namespace)) == 2, 60, "two pods", interval=0.1)
    kube.kubectl(
        "patch",
        "materialization",
        "r1",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"spec": {"cancel": true}}',
    )
    final = wait_phase(kube, namespace, "r1", "Canceled")
    assert final["counts"]["canceled"] == 2
    wait_until(lambda: not pods(kube, namespace), 30, "pods deleted", interval=0.2)


def test_the_gap_between_a_step_success_and_the_next_pod_is_small(
    kube: Kube, namespace: str, running: int
) -> None:
    """Inter-step dead time on the operator's side: event accepted -> next pod exists
    (seen through a watch). Goal: p50 < 100 ms, p99 < 500 ms."""
    from kubernetes import client, config, watch

    steps = 20
    assets = [{"key": f"s{i:02d}", "deps": [f"s{i - 1:02d}"] if i else []} for i in range(steps)]
    kube.apply(graph("chain", assets), namespace)
    api = client.CoreV1Api(config.new_client_from_config(kube.kubeconfig))
    stream = watch.Watch()
    seen: dict[str, float] = {}
    kube.apply(run("r1", "chain"), namespace)
    gaps: list[float] = []
    posted_at: float | None = None
    for event in stream.stream(api.list_namespaced_pod, namespace, timeout_seconds=120):
        if event["type"] != "ADDED":
            continue
        now = time.monotonic()
        name = event["object"].metadata.name
        if name in seen:
            continue
        seen[name] = now
        if posted_at is not None:
            gaps.append(now - posted_at)
        index = len(seen) - 1
        post_events(running, namespace, "r1", f"s{index:02d}", "STEP_SUCCEEDED")
        posted_at = time.monotonic()
        if len(seen) == steps:
            break
    stream.stop()
    gaps.sort()
    assert len(gaps) == steps - 1
    p50, p99 = gaps[len(gaps) // 2], gaps[-1]
    # The numbers are printed, not asserted: timing goals live in the benchmarks
    # (bench/), where load is recorded next to them. What must hold is the behaviour:
    # each success produced the next pod (the loop above waited for every one of them).
    print(f"inter-step gap over {len(gaps)} steps: p50={p50 * 1000:.1f} ms max={p99 * 1000:.1f} ms")
    assert all(gap > 0 for gap in gaps)
