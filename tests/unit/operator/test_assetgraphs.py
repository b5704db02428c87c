"""AssetGraph reconciliation: owned Asset objects, minimal writes, Ready/Invalid."""

from __future__ import annotations

import asyncio
import copy

from fake_cluster import asset, graph_body
from operator_fakes import FakeKube

from kasset import naming
from kasset.operator.assets.assetgraphs import AssetGraphReconciler, needs_reconcile


def reconcile(kube: FakeKube, body: dict[str, object]) -> None:
    asyncio.run(AssetGraphReconciler(kube).reconcile(body, 1_700_000_000.0))


def test_a_valid_graph_gets_one_owned_asset_per_asset_and_is_ready() -> None:
    kube = FakeKube(clock=lambda: 0.0)
    body = kube.put(
        "assetgraphs", graph_body(assets=[asset("raw/a", group="raw"), asset("b", ["raw/a"])])
    )
    reconcile(kube, body)
    name = naming.asset_object_name("g", "raw/a")
    created = kube.objects[("assets", "default", name)]
    assert created["spec"]["key"] == "raw/a"
    assert created["metadata"]["labels"] == {"kasset.io/graph": "g", "kasset.io/group": "raw"}
    assert created["metadata"]["ownerReferences"][0]["kind"] == "AssetGraph"
    status = kube.status_of("assetgraphs", "g")
    assert status["assetCount"] == 2 and status["observedGeneration"] == 1
    ready = {c["type"]: c for c in status["conditions"]}["Ready"]
    assert ready["status"] == "True"
    assert not needs_reconcile(kube.objects[("assetgraphs", "default", "g")])


def test_reconciling_again_writes_only_what_changed() -> None:
    kube = FakeKube(clock=lambda: 0.0)
    body = kube.put("assetgraphs", graph_body(assets=[asset("a"), asset("b")]))
    reconcile(kube, body)
    kube.writes.clear()
    changed = copy.deepcopy(body)
    changed["spec"]["assets"] = [asset("a", description="new"), asset("c")]
    changed["metadata"]["generation"] = 2
    reconcile(kube, changed)
    assert sorted(kube.writes) == [
        ("create", "assets"),
        ("delete", "assets"),
        ("patch", "assetgraphs/status"),
        ("patch", "assets"),
    ]


def test_a_cycle_makes_the_graph_invalid_with_the_path() -> None:
    kube = FakeKube(clock=lambda: 0.0)
    body = kube.put(
        "assetgraphs", graph_body(assets=[asset("a", ["c"]), asset("b", ["a"]), asset("c", ["b"])])
    )
    reconcile(kube, body)
    conditions = {c["type"]: c for c in kube.status_of("assetgraphs", "g")["conditions"]}
    assert conditions["Ready"]["status"] == "False"
    assert conditions["Invalid"]["status"] == "True"
    assert conditions["Invalid"]["reason"] == "CycleDetected"
    assert "a -> b -> c -> a" in conditions["Invalid"]["message"]
    assert not [k for k in kube.objects if k[0] == "assets"]
