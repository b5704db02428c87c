"""Shared helpers of the UI tests: a small in-memory graph with runs, and clients."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bench.memory_backend import MemoryBackend
from fastapi.testclient import TestClient

from kasset.naming import asset_object_name
from kasset.resources import (
    AssetGraphResource,
    AssetResource,
    MaterializationResource,
)
from kasset.ui.app import create_app
from kasset.ui.auth import AuthConfig

TOKEN = "s3cret-token-for-tests"
NS = "shop"
GRAPH = "shop"
NOW = datetime.now(UTC).replace(microsecond=0)


def _iso(delta_minutes: float) -> str:
    return (NOW - timedelta(minutes=delta_minutes)).isoformat()


def graph_body() -> dict[str, Any]:
    return {
        "metadata": {"name": GRAPH, "namespace": NS},
        "spec": {
            "image": "shop:1",
            "codeLocation": {"module": "shop.defs"},
            "partitionsDefinitions": [
                {"name": "daily", "type": "daily", "start": "2024-01-01", "end": "2024-01-11"}
            ],
            "assets": [
                {"key": "raw/customers", "group": "raw", "description": "CRM export."},
                {
                    "key": "raw/orders",
                    "group": "raw",
                    "partitions": "daily",
                    "tags": {"team": "sales"},
                },
                {
                    "key": "marts/revenue",
                    "group": "marts",
                    "deps": ["raw/orders", "raw/customers"],
                    "checks": [{"name": "positive", "blocking": True}],
                },
            ],
            "schedules": [{"name": "nightly", "cron": "0 2 * * *", "selection": "group:raw"}],
        },
    }


def asset_body(key: str, group: str, status: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": asset_object_name(GRAPH, key), "namespace": NS},
        "spec": {"graph": GRAPH, "key": key, "group": group, **spec},
        "status": status,
    }


def demo_backend() -> MemoryBackend:
    graph = AssetGraphResource.from_dict(graph_body())
    assets = [
        AssetResource.from_dict(
            asset_body(
                "raw/customers",
                "raw",
                {
                    "health": "Fresh",
                    "latest": {"run": "run-ok", "time": _iso(30), "metadata": {"rows": "1204"}},
                },
                description="CRM export.",
            )
        ),
        AssetResource.from_dict(
            asset_body(
                "raw/orders",
                "raw",
                {
                    "health": "Failed",
                    "latest": {"run": "run-ok", "time": _iso(30), "partition": "2024-01-02"},
                    "partitions": {
                        "materialized": "2024-01-01..2024-01-03",
                        "failed": "2024-01-05",
                        "materializedCount": 3,
                        "total": 10,
                    },
                },
                partitions={"type": "daily", "start": "2024-01-01", "end": "2024-01-11"},
                tags={"team": "sales"},
            )
        ),
        AssetResource.from_dict(
            asset_body(
                "marts/revenue",
                "marts",
                {"health": "Missing"},
                deps=["raw/orders", "raw/customers"],
                checks=[{"name": "positive", "blocking": True}],
            )
        ),
    ]
    ok = MaterializationResource.from_dict(
        {
            "metadata": {"name": "run-ok", "namespace": NS, "creationTimestamp": _iso(40)},
            "spec": {
                "graph": GRAPH,
                "selection": "group:raw",
                "launchedBy": "cli",
                "partitions": {"range": {"start": "2024-01-01", "end": "2024-01-03"}},
            },
            "status": {
                "phase": "Succeeded",
                "startTime": _iso(40),
                "completionTime": _iso(30),
                "counts": {"total": 4, "succeeded": 4},
                "assets": [
                    {"asset": "raw/customers", "phase": "Succeeded"},
                    {
                        "asset": "raw/orders",
                        "phase": "Succeeded",
                        "succeeded": "2024-01-01..2024-01-03",
                    },
                ],
                "steps": [
                    {
                        "key": "raw/customers",
                        "phase": "Succeeded",
                        "attempts": 1,
                        "startTime": _iso(40),
                        "endTime": _iso(35),
                        "metadata": {"rows": "1204"},
                    }
                ],
            },
        }
    )
    failed = MaterializationResource.from_dict(
        {
            "metadata": {"name": "run-failed", "namespace": NS, "creationTimestamp": _iso(10)},
            "spec": {
                "graph": GRAPH,
                "selection": "*",
                "launchedBy": "ui",
                "partitions": {"keys": ["2024-01-05"]},
            },
            "status": {
                "phase": "Failed",
                "startTime": _iso(10),
                "completionTime": _iso(5),
                "message": "1 step(s) failed",
                "counts": {"total": 3, "succeeded": 1, "failed": 1, "skipped": 1},
                "assets": [
                    {"asset": "raw/customers", "phase": "Succeeded"},
                    {"asset": "raw/orders", "phase": "Failed", "failed": "2024-01-05"},
                    {"asset": "marts/revenue", "phase": "Skipped"},
                ],
                "steps": [
                    {
                        "key": "raw/orders[2024-01-05]",
                        "phase": "Failed",
                        "attempts": 2,
                        "infraRetries": 1,
                        "startTime": _iso(9),
                        "endTime": _iso(6),
                        "message": "ValueError: bad row",
                    },
                    {
                        "key": "marts/revenue",
                        "phase": "Skipped",
                        "message": "upstream step raw/orders[2024-01-05] failed",
                    },
                ],
            },
        }
    )
    running = MaterializationResource.from_dict(
        {
            "metadata": {"name": "run-live", "namespace": NS, "creationTimestamp": _iso(1)},
            "spec": {"graph": GRAPH, "selection": "raw/customers"},
            "status": {
                "phase": "Running",
                "startTime": _iso(1),
                "counts": {"total": 1, "running": 1},
                "steps": [
                    {
                        "key": "raw/customers",
                        "phase": "Running",
                        "attempts": 1,
                        "startTime": _iso(1),
                    }
                ],
            },
        }
    )
    logs = {("run-failed", "raw/orders[2024-01-05]"): "reading rows\nTraceback: ValueError\n"}
    return MemoryBackend([graph], assets, [ok, failed, running], logs)


def client(
    backend: Any = None,
    *,
    auth: AuthConfig | None = None,
    bearer: bool = True,
    base_url: str = "http://testserver",
) -> TestClient:
    app = create_app(backend or demo_backend(), auth=auth or AuthConfig(token=TOKEN))
    headers = {"Authorization": f"Bearer {TOKEN}"} if bearer else {}
    return TestClient(app, headers=headers, base_url=base_url, follow_redirects=False)


def login(test_client: TestClient) -> str:
    """Logs a cookie session in; returns its CSRF token (from a page's meta tag)."""
    response = test_client.post(
        "/login",
        data={"token": TOKEN, "next": "/assets"},
        headers={"Origin": str(test_client.base_url)},
    )
    assert response.status_code == 303, response.text
    page = test_client.get("/assets")
    marker = '<meta name="kasset-csrf" content="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]
