"""Bridges the resource models to the pure asset graph: an AssetGraph resource becomes a
`kasset.graph.AssetGraph`, so the UI selects, orders and walks lineage exactly as the
planner does. Conversions are cached by a fingerprint of the graph's structure.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict

from kasset.definitions.keys import AssetKey
from kasset.definitions.partitions import PartitionsDefinition, partitions_from_spec
from kasset.errors import KassetError
from kasset.graph import AssetGraph, AssetNode, CheckNode
from kasset.resources import AssetGraphResource, GraphAsset
from kasset.resources import PartitionsDefinition as PartitionsSpec

__all__ = ["asset_partitions", "graph_fingerprint", "graph_of", "graph_ref", "partitions_of"]

_CACHE_SIZE = 32
_cache: OrderedDict[str, AssetGraph] = OrderedDict()
_by_object: OrderedDict[int, tuple[AssetGraphResource, AssetGraph]] = OrderedDict()
_lock = threading.Lock()


def graph_ref(resource: AssetGraphResource) -> str:
    """`namespace/name`, the graph's id in URLs and query parameters."""
    return f"{resource.metadata.namespace or 'default'}/{resource.metadata.name}"


def graph_fingerprint(resource: AssetGraphResource) -> str:
    """A hash of what the pure graph is built from (keys, deps, groups, tags, partitions,
    checks): equal fingerprints give equal graphs."""
    body = [
        [a.key, a.deps, a.group, sorted(a.tags.items()), a.partitions, [c.name for c in a.checks]]
        for a in resource.spec.assets
    ]
    shared = [d.to_dict() for d in resource.spec.partitions_definitions]
    return hashlib.sha256(json.dumps([body, shared], separators=(",", ":")).encode()).hexdigest()


def graph_of(resource: AssetGraphResource) -> AssetGraph:
    """The pure graph of a resource. Raises a KassetError (DefinitionError, CycleError)
    when the resource is not a valid graph.

    Backends replace a changed resource rather than edit it, so the same object is the
    same graph: that skips hashing 10,000 assets on every page view."""
    with _lock:
        seen = _by_object.get(id(resource))
        if seen is not None and seen[0] is resource:
            return seen[1]
    fingerprint = graph_fingerprint(resource)
    with _lock:
        cached = _cache.get(fingerprint)
        if cached is not None:
            _cache.move_to_end(fingerprint)
    graph = cached or AssetGraph(_node(resource, asset) for asset in resource.spec.assets)
    with _lock:
        _cache[fingerprint] = graph
        _by_object[id(resource)] = (resource, graph)
        for cache in (_cache, _by_object):
            while len(cache) > _CACHE_SIZE:
                cache.popitem(last=False)
    return graph


def partitions_of(spec: PartitionsSpec | None) -> PartitionsDefinition | None:
    """The partitions definition of a resource's `partitions` field (None if invalid)."""
    if spec is None:
        return None
    try:
        return partitions_from_spec(spec.to_dict())
    except KassetError:
        return None


def asset_partitions(resource: AssetGraphResource, asset: GraphAsset) -> PartitionsSpec | None:
    """The partitions definition an asset names (None if unpartitioned or dangling)."""
    try:
        return resource.spec.partitions_of(asset)
    except KeyError:
        return None


def _node(resource: AssetGraphResource, asset: GraphAsset) -> AssetNode:
    return AssetNode(
        key=AssetKey.from_string(asset.key),
        deps=tuple(AssetKey.from_string(dep) for dep in asset.deps),
        group=asset.group,
        tags=dict(asset.tags),
        partitions=partitions_of(asset_partitions(resource, asset)),
        checks=tuple(CheckNode(c.name, c.blocking, c.description) for c in asset.checks),
    )
