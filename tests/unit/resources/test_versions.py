"""The version story (docs/versions.md): objects the previous release stored are read by
today's models, and the CRD generator serves versions with exactly one stored."""

from __future__ import annotations

from typing import Any

import pytest

from kasset.resources import (
    AssetGraphResource,
    AssetResource,
    MaterializationResource,
)
from kasset.resources.base import SERVED_VERSIONS, STORAGE_VERSION
from kasset.resources.crdgen import KINDS, crd_for

# As the 0.1.0 operator stored them, plus a field a later release may have dropped
# (`legacyHint`): reading must ignore it, not fail.
PREVIOUS_GRAPH: dict[str, Any] = {
    "apiVersion": "kasset.io/v1alpha1",
    "kind": "AssetGraph",
    "metadata": {"name": "demo", "namespace": "team-a", "generation": 3},
    "spec": {
        "image": "registry/proj:1.2.3",
        "codeLocation": {"module": "proj.defs", "attribute": "defs"},
        "storage": {"uri": "file:///var/lib/kasset/storage"},
        "defaults": {"retryPolicy": {"maxRetries": 1, "delaySeconds": 5, "backoff": 2.0}},
        "assets": [{"key": "raw/orders", "group": "raw"}, {"key": "stats", "deps": ["raw/orders"]}],
        "legacyHint": "dropped later",
    },
    "status": {"observedGeneration": 3, "assetCount": 2},
}
PREVIOUS_RUN: dict[str, Any] = {
    "apiVersion": "kasset.io/v1alpha1",
    "kind": "Materialization",
    "metadata": {"name": "demo-x1", "namespace": "team-a"},
    "spec": {"graph": "demo", "selection": "*", "launchedBy": "cli"},
    "status": {
        "phase": "Running",
        "counts": {"total": 2, "running": 1, "succeeded": 1},
        "steps": [{"key": "stats", "phase": "Running", "attempts": 1}],
    },
}
PREVIOUS_ASSET: dict[str, Any] = {
    "apiVersion": "kasset.io/v1alpha1",
    "kind": "Asset",
    "metadata": {"name": "demo-raw-orders-2ca6c6c1", "namespace": "team-a"},
    "spec": {"graph": "demo", "key": "raw/orders", "group": "raw"},
    "status": {"health": "Fresh", "latest": {"run": "demo-x1", "time": "2026-01-01T00:00:00Z"}},
}


def test_a_graph_stored_by_the_previous_release_is_read_by_todays_model() -> None:
    graph = AssetGraphResource.from_dict(PREVIOUS_GRAPH)
    assert graph.spec.image == "registry/proj:1.2.3"
    assert [a.key for a in graph.spec.assets] == ["raw/orders", "stats"]
    assert graph.spec.defaults.retry_policy is not None
    assert graph.spec.defaults.retry_policy.max_retries == 1
    assert "legacyHint" not in graph.to_dict()["spec"]


def test_a_run_in_flight_stored_by_the_previous_release_is_read_by_todays_model() -> None:
    run = MaterializationResource.from_dict(PREVIOUS_RUN)
    assert run.status is not None
    assert run.status.phase.value == "Running"
    assert run.status.counts.succeeded == 1
    assert [s.key for s in run.status.steps] == ["stats"]


def test_an_asset_stored_by_the_previous_release_is_read_by_todays_model() -> None:
    asset = AssetResource.from_dict(PREVIOUS_ASSET)
    assert asset.spec.key == "raw/orders"
    assert asset.status is not None
    assert asset.status.latest is not None
    assert asset.status.latest.run == "demo-x1"


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.plural)
def test_the_crds_serve_every_version_and_store_exactly_one(kind: Any) -> None:
    versions = crd_for(kind)["spec"]["versions"]
    assert [v["name"] for v in versions] == list(SERVED_VERSIONS)
    assert [v["name"] for v in versions if v["storage"]] == [STORAGE_VERSION]
    two = crd_for(kind, served=("v1alpha1", "v1alpha2"), storage="v1alpha2")["spec"]["versions"]
    assert [(v["name"], v["served"], v["storage"]) for v in two] == [
        ("v1alpha1", True, False),
        ("v1alpha2", True, True),
    ]
    assert two[0]["schema"] == two[1]["schema"]  # strategy None: one schema for all


def test_a_storage_version_that_is_not_served_is_refused() -> None:
    with pytest.raises(ValueError, match="not among the served"):
        crd_for(KINDS[0], served=("v1alpha1",), storage="v1beta1")
