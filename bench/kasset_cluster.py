"""kasset on the cluster: the AssetGraph and Materialization manifests of a bench run, and
one measured run (create the Materialization, wait for its final phase).

Manifests are built by pure functions (tested without a cluster); `run_materialization`
is the only part that talks to the API server.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench import cluster
from bench.kasset_side import MODULE, definitions_of
from bench.shapes import Shape
from kasset import Definitions, StaticPartitionsDefinition, asset
from kasset.compiler import compile_definitions

__all__ = [
    "KWOK_PLACEMENT",
    "RunOutcome",
    "graph_manifest",
    "histogram_quantile",
    "materialization_manifest",
    "partitioned_chain",
    "run_materialization",
]

#: What a step pod needs to land on hack/kwok's fake nodes (and only there).
KWOK_PLACEMENT: dict[str, Any] = {
    "nodeSelector": {"type": "kwok"},
    "tolerations": [{"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}],
}
#: Steps store their (None) output in the pod's own /tmp (an emptyDir): no shared volume.
STORAGE_URI = "file:///tmp/kasset-storage"


def partitioned_chain(assets: int, partitions: int) -> Definitions:
    """`assets` assets in a chain, each with the same `partitions` static partitions;
    partition p of asset i waits for partition p of asset i-1 (a backfill)."""
    keys = StaticPartitionsDefinition([f"p{i:05d}" for i in range(partitions)])

    def _noop() -> None:
        return None

    items = []
    for i in range(assets):
        deps = [f"a{i - 1:03d}"] if i else []
        items.append(asset(_noop, name=f"a{i:03d}", deps=deps, partitions_def=keys))
    return Definitions(assets=items)


def graph_manifest(
    defs: Definitions,
    *,
    name: str,
    namespace: str,
    image: str,
    attribute: str,
    max_parallel: int = 16,
    placement: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The compiled AssetGraph, with `placement` (nodeSelector, tolerations) as defaults."""
    resource = compile_definitions(
        defs,
        image=image,
        module=MODULE,
        attribute=attribute,
        name=name,
        namespace=namespace,
        storage_uri=STORAGE_URI,
        max_parallel=max_parallel,
    )
    body = resource.to_dict()
    if placement:
        body["spec"].setdefault("defaults", {}).update(placement)
    return body


def shape_graph_manifest(shape: Shape, **kwargs: Any) -> dict[str, Any]:
    return graph_manifest(definitions_of(shape.name), attribute=shape.name, **kwargs)


def materialization_manifest(
    name: str,
    namespace: str,
    graph: str,
    max_parallel: int,
    partition_range: tuple[str, str] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "graph": graph,
        "selection": "*",
        "maxParallel": max_parallel,
        "launchedBy": "bench",
    }
    if partition_range is not None:
        spec["partitions"] = {"range": {"start": partition_range[0], "end": partition_range[1]}}
    return {
        "apiVersion": "kasset.io/v1alpha1",
        "kind": "Materialization",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def histogram_quantile(metrics_text: str, name: str, q: float) -> float:
    """`histogram_quantile(q, name)` over a Prometheus text exposition, as Prometheus
    computes it: linear interpolation inside the bucket that holds the rank."""
    buckets: list[tuple[float, float]] = []
    prefix = f"{name}_bucket{{"
    for line in metrics_text.splitlines():
        if not line.startswith(prefix):
            continue
        labels, _, value = line.rpartition(" ")
        le = labels.split('le="', 1)[1].split('"', 1)[0]
        buckets.append((float("inf") if le == "+Inf" else float(le), float(value)))
    buckets.sort()
    if not buckets or buckets[-1][1] == 0:
        return float("nan")
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower
            if count == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower


def histogram_count(metrics_text: str, name: str) -> float:
    for line in metrics_text.splitlines():
        if line.startswith(f"{name}_count"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@dataclass(frozen=True)
class RunOutcome:
    phase: str
    seconds: float
    status_bytes: int
    counts: Mapping[str, int]


def apply_graph(body: Mapping[str, Any], timeout: float = 600) -> None:
    """Creates the AssetGraph and waits until the operator marks it Ready."""
    meta = body["metadata"]
    cluster.kubectl("create", "-f", "-", input=json.dumps(body))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = cluster.kubectl(
            "-n",
            meta["namespace"],
            "get",
            "assetgraph",
            meta["name"],
            "-o",
            'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
            check=False,
        )
        if out.strip() == "True":
            return
        time.sleep(0.5)
    raise RuntimeError(f"AssetGraph {meta['name']} never became Ready")


def run_materialization(body: Mapping[str, Any], timeout: float = 3600) -> RunOutcome:
    """Creates the Materialization and waits for a final phase; seconds from the create
    request to the first poll (every 0.2 s) that sees it finished."""
    meta = body["metadata"]
    start = time.monotonic()
    cluster.kubectl("create", "-f", "-", input=json.dumps(body))
    deadline = start + timeout
    while True:
        phase = cluster.kubectl(
            "-n",
            meta["namespace"],
            "get",
            "materialization",
            meta["name"],
            "-o",
            "jsonpath={.status.phase}",
            check=False,
        ).strip()
        if phase in ("Succeeded", "Failed", "Canceled"):
            elapsed = time.monotonic() - start
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"Materialization {meta['name']} did not finish in {timeout:.0f} s")
        time.sleep(0.2)
    text = cluster.kubectl(
        "-n", meta["namespace"], "get", "materialization", meta["name"], "-o", "json"
    )
    status = json.loads(text).get("status") or {}
    return RunOutcome(phase, elapsed, len(text.encode()), dict(status.get("counts") or {}))


def object_sizes(namespace: str, kinds: Sequence[str]) -> dict[str, tuple[str, int]]:
    """The largest object of each kind in the namespace: (name, bytes of `-o json`)."""
    largest: dict[str, tuple[str, int]] = {}
    for kind in kinds:
        items = json.loads(cluster.kubectl("-n", namespace, "get", kind, "-o", "json")).get(
            "items", []
        )
        for item in items:
            size = len(json.dumps(item, indent=4).encode())  # what `kubectl get -o json` prints
            if size > largest.get(kind, ("", -1))[1]:
                largest[kind] = (item["metadata"]["name"], size)
    return largest
