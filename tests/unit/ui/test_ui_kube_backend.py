"""The cluster backend without a cluster: the watch-fed cache, and what launches,
cancels, re-runs and log reads send to (fake) Kubernetes clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException
from ui_testkit import NS, demo_backend, graph_body

from kasset.resources import AssetGraphResource, MaterializationResource
from kasset.ui.backend import ConflictError, InvalidRequestError, NotFoundError
from kasset.ui.kube_backend import KubeBackend, ObjectCache


class FakeCustomApi:
    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []
        self.patched: list[tuple[Any, ...]] = []

    def create_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        if body["spec"].get("launchedBy") == "reject-me":
            raise ApiException(status=422, reason="Unprocessable")
        self.created.append(body)
        return {**body, "metadata": {**body["metadata"], "uid": "u1"}}

    def patch_namespaced_custom_object(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.patched.append((*args, kwargs))
        return {}


class FakeLogResponse:
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.released = False

    def stream(self, size: int) -> Iterator[bytes]:
        yield from self.chunks

    def release_conn(self) -> None:
        self.released = True


class FakeCoreApi:
    def __init__(self, pods: dict[str, list[bytes]]) -> None:
        self.pods = pods
        self.calls: list[tuple[str, str, bool]] = []

    def read_namespaced_pod_log(
        self, name: str, namespace: str, follow: bool = False, _preload_content: bool = True
    ) -> FakeLogResponse:
        self.calls.append((name, namespace, follow))
        if name not in self.pods:
            raise ApiException(status=404, reason="Not Found")
        return FakeLogResponse(self.pods[name])


def _backend(pods: dict[str, list[bytes]] | None = None) -> tuple[KubeBackend, FakeCustomApi]:
    custom = FakeCustomApi()
    backend = KubeBackend(custom, FakeCoreApi(pods or {}))
    demo = demo_backend()
    backend.graph_cache.replace([g.to_dict() for g in demo.graphs()])
    backend.asset_cache.replace([a.to_dict() for a in demo.assets()])
    backend.run_cache.replace([r.to_dict() for r in demo.runs()])
    return backend, custom


def test_the_cache_follows_list_and_watch_events() -> None:
    cache: ObjectCache[AssetGraphResource] = ObjectCache(AssetGraphResource)
    body = graph_body()
    cache.replace([body])
    assert cache.get(NS, "shop") is not None
    changed = json.loads(json.dumps(body))
    changed["spec"]["image"] = "shop:2"
    assert cache.apply("MODIFIED", changed) == (NS, "shop")
    assert cache.get(NS, "shop").spec.image == "shop:2"  # type: ignore[union-attr]
    assert cache.apply("MODIFIED", {"metadata": {"name": "bad", "namespace": NS}}) is None
    cache.apply("DELETED", body)
    assert cache.values() == []


def test_a_relist_of_one_namespace_keeps_the_others() -> None:
    cache: ObjectCache[AssetGraphResource] = ObjectCache(AssetGraphResource)
    other = graph_body()
    other["metadata"]["namespace"] = "other"
    cache.replace([graph_body(), other])
    cache.replace([], namespace=NS)
    assert [g.metadata.namespace for g in cache.values()] == ["other"]


def test_reads_are_served_from_the_cache() -> None:
    backend, _ = _backend()
    assert [g.metadata.name for g in backend.graphs()] == ["shop"]
    assert len(backend.assets(NS, "shop")) == 3
    assert [r.metadata.name for r in backend.runs(limit=2)] == ["run-live", "run-failed"]
    with pytest.raises(NotFoundError):
        backend.run(NS, "nope")


def test_launch_creates_a_materialization() -> None:
    backend, custom = _backend()
    name = backend.launch(NS, "shop", "group:raw", None, "ui")
    body = custom.created[-1]
    assert body["kind"] == "Materialization" and body["metadata"]["name"] == name
    assert body["spec"] == {
        "graph": "shop",
        "selection": "group:raw",
        "cancel": False,
        "launchedBy": "ui",
    }
    assert body["metadata"]["labels"] == {"kasset.io/graph": "shop"}
    assert backend.run(NS, name).spec.launched_by == "ui"  # visible before the watch


def test_launch_checks_the_selection_first_and_reports_api_rejections() -> None:
    backend, custom = _backend()
    with pytest.raises(InvalidRequestError, match="no asset"):
        backend.launch(NS, "shop", "nope", None, "ui")
    assert custom.created == []
    with pytest.raises(InvalidRequestError):  # the API server's 422
        backend.launch(NS, "shop", "raw/customers", None, "reject-me")


def test_cancel_patches_spec_cancel_with_a_merge_patch() -> None:
    backend, custom = _backend()
    backend.cancel(NS, "run-live")
    args = custom.patched[-1]
    assert args[:6] == (
        "kasset.io",
        "v1alpha1",
        NS,
        "materializations",
        "run-live",
        {"spec": {"cancel": True}},
    )
    assert args[6] == {"_content_type": "application/merge-patch+json"}
    with pytest.raises(ConflictError):
        backend.cancel(NS, "run-ok")


def test_rerun_creates_a_run_of_the_failed_steps() -> None:
    backend, custom = _backend()
    backend.rerun_failed(NS, "run-failed")
    spec = custom.created[-1]["spec"]
    assert spec["selection"] == "raw/orders,marts/revenue"
    assert spec["partitions"] == {"keys": ["2024-01-05"]}


def test_step_logs_come_from_the_pod_of_the_attempt() -> None:
    from kasset.naming import step_pod_name

    pod = step_pod_name("run-failed", "raw/orders[2024-01-05]", 2)
    backend, _ = _backend({pod: ["héllo ".encode()[:2], "héllo ".encode()[2:], b"world\n"]})

    async def read(step: str) -> str:
        return "".join([c async for c in backend.step_logs(NS, "run-failed", step)])

    assert asyncio.run(read("raw/orders[2024-01-05]")) == "héllo world\n"
    gone = asyncio.run(read("marts/revenue"))
    assert "no longer exists" in gone


def test_the_event_stream_wakes_on_watch_events() -> None:
    backend, _ = _backend()
    live = backend.run(NS, "run-live").to_dict()

    async def scenario() -> list[str]:
        phases: list[str] = []
        stream = backend.watch_run(NS, "run-live")
        async for run in stream:
            phases.append(run.status.phase.value if run.status else "")
            if len(phases) == 1:
                done = {**live, "status": {**live["status"], "phase": "Succeeded"}}
                backend._notifier("runs")(backend.run_cache.apply("MODIFIED", done))
        return phases

    assert asyncio.run(asyncio.wait_for(scenario(), 5)) == ["Running", "Succeeded"]
    assert isinstance(backend.run(NS, "run-live"), MaterializationResource)
