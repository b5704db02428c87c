"""Reconciling an AssetGraph: validate it, keep one owned `Asset` object per asset, and
say so in its status (Ready, or Invalid with the reason, e.g. the cycle's path).

Runs only when `metadata.generation` differs from `status.observedGeneration`, and writes
only what differs, so a restart or a status-only event costs no write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from kasset import naming
from kasset.errors import CycleError, DefinitionError
from kasset.operator.kube.client import ApiError, Kube
from kasset.operator.model.graphs import GraphSnapshot, snapshot_from_body
from kasset.operator.model.status import iso
from kasset.resources import API_VERSION
from kasset.resources.assetgraph import GraphAsset

__all__ = ["AssetGraphReconciler", "desired_assets", "graph_conditions", "needs_reconcile"]

logger = logging.getLogger(__name__)

LABEL_GRAPH = "kasset.io/graph"
LABEL_GROUP = "kasset.io/group"


def needs_reconcile(body: Mapping[str, Any]) -> bool:
    generation = (body.get("metadata") or {}).get("generation")
    observed = (body.get("status") or {}).get("observedGeneration")
    return generation is None or generation != observed


def desired_assets(snapshot: GraphSnapshot) -> dict[str, dict[str, Any]]:
    """The Asset objects the graph should own, by name (pure)."""
    owner = {
        "apiVersion": API_VERSION,
        "kind": "AssetGraph",
        "name": snapshot.name,
        "uid": snapshot.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }
    result: dict[str, dict[str, Any]] = {}
    for item in snapshot.spec.assets:
        name = naming.asset_object_name(snapshot.name, item.key)
        spec = {
            "graph": snapshot.name,
            "key": item.key,
            "group": item.group,
            "deps": list(item.deps),
            "description": item.description,
            "tags": dict(item.tags),
            "codeVersion": item.code_version,
            "partitions": _partitions(snapshot, item),
            "checks": [c.to_dict() for c in item.checks],
        }
        result[name] = {
            "apiVersion": API_VERSION,
            "kind": "Asset",
            "metadata": {
                "name": name,
                "namespace": snapshot.namespace,
                "labels": {
                    LABEL_GRAPH: naming.label_value(snapshot.name),
                    LABEL_GROUP: naming.label_value(item.group),
                },
                "ownerReferences": [owner],
            },
            "spec": {k: v for k, v in spec.items() if v is not None},
        }
    return result


def graph_conditions(
    previous: list[Mapping[str, Any]], generation: int, error: DefinitionError | None, now: float
) -> list[dict[str, Any]]:
    """Ready and Invalid conditions; a transition time changes only with the status."""
    if error is None:
        wanted = {
            "Ready": ("True", "Valid", "the graph is valid"),
            "Invalid": ("False", "Valid", "the graph is valid"),
        }
    else:
        reason = "CycleDetected" if isinstance(error, CycleError) else "InvalidSpec"
        wanted = {"Ready": ("False", reason, str(error)), "Invalid": ("True", reason, str(error))}
    before = {str(c.get("type")): c for c in previous}
    conditions = []
    for kind, (status, reason, message) in wanted.items():
        old = before.get(kind) or {}
        changed = old.get("status") != status
        conditions.append(
            {
                "type": kind,
                "status": status,
                "reason": reason,
                "message": message[:32768],
                "lastTransitionTime": iso(now)
                if changed
                else old.get("lastTransitionTime", iso(now)),
                "observedGeneration": generation,
            }
        )
    return conditions


class AssetGraphReconciler:
    def __init__(
        self, kube: Kube, on_created: Callable[[str, str, str], None] | None = None
    ) -> None:
        self.kube = kube
        #: Told (namespace, graph, asset key) of each Asset object it creates.
        self.on_created = on_created

    async def reconcile(self, body: Mapping[str, Any], now: float) -> None:
        metadata = body.get("metadata") or {}
        namespace, name = str(metadata.get("namespace")), str(metadata.get("name"))
        generation = int(metadata.get("generation") or 0)
        status = body.get("status") or {}
        error: DefinitionError | None = None
        count = None
        try:
            snapshot = snapshot_from_body(body)
        except DefinitionError as problem:
            error = problem
            logger.info("AssetGraph %s/%s is invalid: %s", namespace, name, problem)
        else:
            count = len(snapshot.spec.assets)
            await self._sync_assets(snapshot)
        patch: dict[str, Any] = {
            "observedGeneration": generation,
            "conditions": graph_conditions(status.get("conditions") or [], generation, error, now),
        }
        if count is not None:
            patch["assetCount"] = count
        await self.kube.patch_status("assetgraphs", namespace, name, patch)

    async def _sync_assets(self, snapshot: GraphSnapshot) -> None:
        selector = f"{LABEL_GRAPH}={naming.label_value(snapshot.name)}"
        existing = {
            o["metadata"]["name"]: o
            for o in await self.kube.list_objects("assets", snapshot.namespace, selector)
        }
        for name, want in desired_assets(snapshot).items():
            have = existing.pop(name, None)
            try:
                if have is None:
                    await self.kube.create_object("assets", snapshot.namespace, want)
                    if self.on_created is not None:
                        self.on_created(snapshot.namespace, snapshot.name, want["spec"]["key"])
                elif have.get("spec") != want["spec"] or _labels_differ(have, want):
                    patch = {
                        "metadata": {"labels": want["metadata"]["labels"]},
                        "spec": _replace(have.get("spec") or {}, want["spec"]),
                    }
                    await self.kube.patch_object("assets", snapshot.namespace, name, patch)
            except ApiError as problem:
                logger.warning("cannot write Asset %s/%s: %s", snapshot.namespace, name, problem)
        for name in existing:
            await self.kube.delete_object("assets", snapshot.namespace, name)


def _labels_differ(have: Mapping[str, Any], want: Mapping[str, Any]) -> bool:
    labels = (have.get("metadata") or {}).get("labels") or {}
    return any(labels.get(k) != v for k, v in want["metadata"]["labels"].items())


def _replace(old: Mapping[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A merge patch turning `old` into `new`: absent keys are set to null."""
    patch: dict[str, Any] = {k: None for k in old if k not in new}
    patch.update(new)
    return patch


def _partitions(snapshot: GraphSnapshot, item: GraphAsset) -> dict[str, Any] | None:
    definition = snapshot.spec.partitions_of(item)  # validated by snapshot_from_body
    return definition.to_dict() if definition is not None else None
