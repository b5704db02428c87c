"""The JSON API: resources in their Kubernetes shapes, launches, cancels, re-runs, the
server-sent events of a run and step logs."""

from __future__ import annotations

from ui_testkit import NS, client, demo_backend

from kasset.resources import MaterializationResource, RunPhase


def test_lists_return_the_resources_as_kubernetes_stores_them() -> None:
    c = client()
    graph = c.get("/api/v1/graphs").json()[0]
    assert graph["apiVersion"] == "kasset.io/v1alpha1" and graph["kind"] == "AssetGraph"
    assert graph["spec"]["partitionsDefinitions"][0]["name"] == "daily"
    assets = c.get("/api/v1/assets", params={"graph": "shop"}).json()
    assert {a["spec"]["key"] for a in assets} == {"raw/customers", "raw/orders", "marts/revenue"}
    assert all(None not in a["status"].values() for a in assets)  # nulls are left out
    runs = c.get("/api/v1/runs", params={"phase": "Failed"}).json()
    assert [r["metadata"]["name"] for r in runs] == ["run-failed"]


def test_runs_are_listed_newest_first_and_limited() -> None:
    names = [r["metadata"]["name"] for r in client().get("/api/v1/runs?limit=2").json()]
    assert names == ["run-live", "run-failed"]


def test_unknown_objects_are_404_with_a_message() -> None:
    response = client().get(f"/api/v1/runs/{NS}/nope")
    assert response.status_code == 404
    assert response.json() == {"detail": f"no run {NS}/nope"}


def test_launch_creates_a_run_and_returns_its_page() -> None:
    backend = demo_backend()
    response = client(backend).post(
        "/api/v1/runs",
        json={
            "namespace": NS,
            "graph": "shop",
            "selection": "raw/orders+",
            "partition_text": "2024-01-02..2024-01-04",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["url"] == f"/runs/{NS}/{body['name']}"
    launched = backend.launched[-1]
    assert launched.spec.selection == "raw/orders+"
    assert launched.spec.partitions is not None and launched.spec.partitions.range is not None
    assert launched.spec.launched_by == "ui:api"


def test_a_bad_selection_or_partition_is_a_400_that_says_why() -> None:
    c = client()
    bad = c.post("/api/v1/runs", json={"namespace": NS, "graph": "shop", "selection": "orderz"})
    assert bad.status_code == 400
    assert "no asset 'orderz'" in bad.json()["detail"]
    assert "did you mean" in bad.json()["detail"]
    key = c.post(
        "/api/v1/runs",
        json={
            "namespace": NS,
            "graph": "shop",
            "selection": "raw/orders",
            "partition_text": "2023-01-01",
        },
    )
    assert key.status_code == 400
    assert "outside the partitions" in key.json()["detail"]
    unpartitioned = c.post(
        "/api/v1/runs",
        json={
            "namespace": NS,
            "graph": "shop",
            "selection": "raw/customers",
            "partition_text": "a",
        },
    )
    assert "none of the selected assets is partitioned" in unpartitioned.json()["detail"]


def test_canceling_a_finished_run_is_a_conflict() -> None:
    backend = demo_backend()
    c = client(backend)
    assert c.post(f"/api/v1/runs/{NS}/run-ok/cancel").status_code == 409
    assert c.post(f"/api/v1/runs/{NS}/run-live/cancel").json() == {
        "namespace": NS,
        "name": "run-live",
    }
    assert backend.canceled == ["run-live"]


def test_rerun_selects_the_failed_and_skipped_assets_and_partitions() -> None:
    backend = demo_backend()
    response = client(backend).post(f"/api/v1/runs/{NS}/run-failed/rerun")
    assert response.status_code == 201
    rerun = backend.launched[-1]
    assert rerun.spec.selection == "raw/orders,marts/revenue"
    assert rerun.spec.partitions is not None and rerun.spec.partitions.keys == ["2024-01-05"]
    assert rerun.spec.launched_by == "ui:rerun:run-failed"


def test_step_logs_stream_as_plain_text() -> None:
    response = client().get(f"/api/v1/runs/{NS}/run-failed/steps/raw/orders[2024-01-05]/logs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "reading rows\nTraceback: ValueError\n"


def test_lineage_svg_is_served_standalone() -> None:
    response = client().get(f"/api/v1/graphs/{NS}/shop/lineage.svg?select=raw/orders%2B")
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert "<style>" in response.text
    assert 'data-key="marts/revenue"' in response.text
    assert 'data-key="raw/customers"' not in response.text


def test_schedules_have_their_next_ticks() -> None:
    schedule = client().get("/api/v1/schedules").json()[0]
    assert schedule["name"] == "nightly" and len(schedule["next_ticks"]) == 3


def test_the_event_stream_sends_each_status_change_then_ends() -> None:
    backend = demo_backend()
    live = backend.run(NS, "run-live")
    step = live.model_copy(deep=True)
    assert step.status is not None
    step.status.counts.running, step.status.counts.succeeded = 0, 1
    done = step.model_copy(deep=True)
    assert done.status is not None
    done.status.phase = RunPhase.SUCCEEDED
    # each change is made only after the stream sent the previous status, so the test
    # does not depend on how fast the server subscribes (it used to sleep and race)
    changes = [step, done]
    events: list[tuple[str, str]] = []
    with client(backend).stream("GET", f"/api/v1/runs/{NS}/run-live/events?fragment=1") as s:
        assert s.headers["content-type"].startswith("text/event-stream")
        kind = ""
        for line in s.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind:
                events.append((kind, line[6:]))
                if kind == "status" and changes:
                    backend.update_run(changes.pop(0))
                kind = "" if kind != "fragment" else kind
            elif not line:
                kind = ""
    statuses = [MaterializationResource.model_validate_json(d) for k, d in events if k == "status"]
    assert [s.status.phase for s in statuses if s.status] == [
        RunPhase.RUNNING,
        RunPhase.RUNNING,
        RunPhase.SUCCEEDED,
    ]
    assert [s.status.counts.succeeded for s in statuses if s.status][1] == 1
    assert any(k == "fragment" and "runhead" in d for k, d in events)
    assert events[-1] == ("end", "{}")


def test_the_openapi_schema_documents_the_api_with_resource_models() -> None:
    schema = client().get("/api/openapi.json").json()
    assert "/api/v1/runs/{namespace}/{name}/events" in schema["paths"]
    assert (
        "MaterializationResource" in str(schema["components"]["schemas"])
        or "Materialization" in schema["components"]["schemas"]
    )
    assert not any(p.startswith("/assets") for p in schema["paths"])  # pages are not API


def test_metrics_count_requests_by_route_template() -> None:
    c = client()
    c.get(f"/api/v1/runs/{NS}/run-ok")
    text = c.get("/metrics").text
    assert (
        'kasset_ui_requests_total{code="200",method="GET",route="/api/v1/runs/{namespace}/'
        '{name}"}' in text
    )
