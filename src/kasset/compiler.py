"""Definitions -> AssetGraph resource: what `kasset compile` writes and the operator runs.

Deterministic: the same code gives the same bytes (assets in graph order, keys in a fixed
order), so a compiled manifest can be diffed and committed. Only what the operator needs
to plan and launch steps is compiled; the functions themselves stay in the image.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from kasset.definitions.definitions import Definitions
from kasset.definitions.partitions import PartitionsDefinition
from kasset.definitions.policies import Resources, Toleration
from kasset.errors import DefinitionError
from kasset.resources import API_VERSION, AssetGraphResource

__all__ = ["DEFAULT_STORAGE_URI", "compile_definitions", "default_graph_name", "to_yaml"]

DEFAULT_STORAGE_URI = "file:///var/lib/kasset/storage"
_DESCRIPTION_LIMIT = 4096
_NAME_INVALID = re.compile(r"[^a-z0-9-]+")


_GENERIC_MODULES = {"definitions", "defs", "assets", "main", "__init__", "__main__"}
_GRAPH_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def default_graph_name(module: str) -> str:
    """`examples.population.definitions` -> `population`: the last module part that says
    something, made DNS-safe."""
    parts = [p for p in module.split(".") if p not in _GENERIC_MODULES] or module.split(".")
    name = _NAME_INVALID.sub("-", parts[-1].lower().replace("_", "-")).strip("-")
    return (name or "graph")[:63].rstrip("-")


def compile_definitions(
    defs: Definitions,
    *,
    image: str,
    module: str,
    attribute: str = "defs",
    name: str | None = None,
    namespace: str | None = None,
    storage_uri: str | None = None,
    storage_claim: str | None = None,
    image_pull_policy: str = "IfNotPresent",
    max_parallel: int = 16,
) -> AssetGraphResource:
    """Builds the AssetGraph resource for `defs`, validated by the resource models.

    >>> compile_definitions(defs, image="me/proj:1.0", module="proj.defs").spec.image
    'me/proj:1.0'
    """
    if not image:
        raise DefinitionError("an image is needed to compile: pass --image REGISTRY/NAME:TAG")
    partition_names = _name_partitions(defs)
    assets = []
    for key in defs.graph.order:
        definition = defs.assets[key]
        node = defs.graph.nodes[key]
        entry: dict[str, Any] = {
            "key": key.to_string(),
            "deps": [dep.to_string() for dep in node.deps],
            "group": definition.group,
            "tags": dict(sorted(definition.tags.items())),
            "description": _clip(definition.description),
            "codeVersion": definition.code_version,
            "partitions": partition_names[definition.partitions_def]
            if definition.partitions_def
            else None,
            "checks": [
                {"name": c.name, "blocking": c.blocking, "description": _clip(c.description)}
                for c in defs.checks.get(key, [])
            ],
            "resources": _resources(definition.resources),
            "retryPolicy": definition.retry_policy.spec() if definition.retry_policy else None,
            "timeoutSeconds": int(definition.timeout) if definition.timeout else None,
            "image": definition.image,
            "nodeSelector": dict(definition.node_selector) or None,
            "tolerations": _tolerations(definition.tolerations),
        }
        assets.append({k: v for k, v in entry.items() if v not in (None, [], {})})
    # Without storage options the graph leaves storage to the operator's installation
    # defaults (the chart's volume claim or URL).
    storage: dict[str, Any] | None = None
    if storage_uri or storage_claim:
        storage = {"uri": storage_uri or DEFAULT_STORAGE_URI}
        if storage_claim:
            storage["volume"] = {
                "claimName": storage_claim,
                "mountPath": _mount_path(storage["uri"]),
            }
    graph_name = name or default_graph_name(module)
    if not _GRAPH_NAME.match(graph_name):
        raise DefinitionError(
            f"invalid graph name {graph_name!r}: use 1-63 lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    metadata: dict[str, Any] = {"name": graph_name}
    if namespace:
        metadata["namespace"] = namespace
    manifest = {
        "apiVersion": API_VERSION,
        "kind": "AssetGraph",
        "metadata": metadata,
        "spec": {
            "image": image,
            "imagePullPolicy": image_pull_policy,
            "codeLocation": {"module": module, "attribute": attribute},
            **({"storage": storage} if storage else {}),
            "maxParallel": max_parallel,
            "partitionsDefinitions": [
                {"name": name, **{k: v for k, v in d.spec().items() if v is not None}}
                for d, name in partition_names.items()
            ],
            "assets": assets,
            "schedules": [s.spec() for s in defs.schedules.values()],
        },
    }
    try:
        return AssetGraphResource.model_validate(manifest)
    except ValueError as error:
        raise DefinitionError(f"the compiled graph is not a valid AssetGraph: {error}") from None


def to_yaml(resource: AssetGraphResource) -> str:
    """The manifest as YAML, with only the fields that were set."""
    body = resource.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_unset=True)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(body, Dumper=dumper, sort_keys=False, default_flow_style=False, width=100)


def _name_partitions(defs: Definitions) -> dict[PartitionsDefinition, str]:
    """Names each distinct partitions definition after its kind (`daily`, `daily-2`, ...),
    in graph order, so assets share one entry and the names are stable."""
    names: dict[PartitionsDefinition, str] = {}
    used: dict[str, int] = {}
    for key in defs.graph.order:
        definition = defs.assets[key].partitions_def
        if definition is None or definition in names:
            continue
        used[definition.kind] = used.get(definition.kind, 0) + 1
        count = used[definition.kind]
        names[definition] = definition.kind if count == 1 else f"{definition.kind}-{count}"
    return names


def _clip(text: str | None) -> str | None:
    if text is None:
        return None
    return text if len(text) <= _DESCRIPTION_LIMIT else text[: _DESCRIPTION_LIMIT - 1] + "…"


def _resources(resources: Resources | None) -> dict[str, Any] | None:
    return resources.spec() or None if resources else None


def _tolerations(tolerations: tuple[Toleration, ...]) -> list[dict[str, Any]] | None:
    return [t.spec() for t in tolerations] or None


def _mount_path(uri: str) -> str:
    if not uri.startswith("file://"):
        raise DefinitionError(f"a storage claim needs a file:// storage URI, got {uri!r}")
    return uri[len("file://") :]
