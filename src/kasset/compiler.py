"""Definitions -> AssetGraph resource: what `kasset compile` writes and the operator runs.

Deterministic: the same code gives the same bytes (assets in graph order, keys in a fixed
order), so a compiled manifest can be diffed and committed. Only what the operator needs
to plan and launch steps is compiled; the functions themselves stay in the image.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from kasset.definitions.definitions import Definitions
from kasset.definitions.jobs import JobDefinition
from kasset.definitions.metadata import (
    MetadataValue,
    normalize_metadata_value,
    summary_entry,
    wire_form,
)
from kasset.definitions.partitions import PartitionsDefinition
from kasset.definitions.policies import Resources, Toleration
from kasset.errors import DefinitionError
from kasset.resources import API_VERSION, AssetGraphResource

__all__ = ["DEFAULT_STORAGE_URI", "compile_definitions", "default_graph_name", "to_yaml"]

DEFAULT_STORAGE_URI = "file:///var/lib/kasset/storage"
_DESCRIPTION_LIMIT = 4096
_NAME_INVALID = re.compile(r"[^a-z0-9-]+")


_GENERIC_MODULES = {"definitions", "defs", "assets", "main", "__init__", "__main__"}
_GRAPH_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\Z")


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
    secret_env: Mapping[str, tuple[str, str]] | None = None,
) -> AssetGraphResource:
    """Builds the AssetGraph resource for `defs`, validated by the resource models.

    >>> compile_definitions(defs, image="me/proj:1.0", module="proj.defs").spec.image
    'me/proj:1.0'

    `secret_env` binds environment variables of the step pods (an `EnvVar("NAME")` of a
    resource or config) to Secret keys: `{"DB_PASSWORD": ("warehouse", "password")}`. The
    graph names the Secret; the value never enters it.
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
            "partitionMappings": [
                _without_nulls({"dep": dep.to_string(), **mapping.spec()})
                for dep, mapping in sorted(node.partition_mappings.items(), key=lambda i: str(i[0]))
            ],
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
            "owners": list(definition.owners),
            "kinds": list(definition.kinds),
            "pool": definition.pool,
            "configSchema": _config_schema(definition.config_type),
            **_definition_metadata(definition.metadata),
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
                {"name": name, **_without_nulls(d.spec())} for d, name in partition_names.items()
            ],
            "assets": assets,
            "schedules": [s.spec() for s in defs.schedules.values()],
            "jobs": [_job(job) for job in defs.jobs.values()],
            **({"defaults": {"env": _secret_env(secret_env)}} if secret_env else {}),
        },
    }
    try:
        return AssetGraphResource.model_validate(manifest)
    except ValueError as error:
        raise DefinitionError(f"the compiled graph is not a valid AssetGraph: {error}") from None


def _config_schema(config_type: type | None) -> dict[str, Any] | None:
    if config_type is None:
        return None
    from kasset.definitions.config import config_json_schema

    return config_json_schema(config_type)


def _definition_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """`@asset(metadata=...)` as the Asset's catalog shows it: 16 short texts and kinds."""
    texts: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for name, value in list(metadata.items())[:16]:
        typed = normalize_metadata_value(value)
        wire = wire_form(typed) if isinstance(typed, MetadataValue) else typed
        key = str(name)[:128]
        texts[key], kinds[key] = summary_entry(wire if _is_json(wire) else str(wire))
    return {"metadata": texts, "metadataTypes": kinds}


def _is_json(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool | dict | list)


def _job(job: JobDefinition) -> dict[str, Any]:
    selection = job.selection
    if len(selection) > 4096:
        raise DefinitionError(
            f"job '{job.name}' selects {len(job.keys)} assets, too many to compile "
            "(4096 characters of keys): select by group or tag instead"
        )
    entry: dict[str, Any] = {"name": job.name, "selection": selection}
    if job.description:
        entry["description"] = _clip(job.description)
    if job.tags:
        entry["tags"] = dict(sorted(job.tags.items()))
    if job.config is not None:
        from kasset.definitions.config import RunConfig

        entry["runConfig"] = RunConfig.coerce(job.config).to_json()
    return entry


def _secret_env(bindings: Mapping[str, tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
        for name, (secret, key) in sorted(bindings.items())
    ]


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


def _without_nulls(spec: dict[str, Any]) -> dict[str, Any]:
    """A spec without unset fields, nested ones too (the resource omits them)."""
    result: dict[str, Any] = {}
    for key, given in spec.items():
        value = given
        if isinstance(given, dict) and key != "keyMap":
            value = _without_nulls(given)
        elif isinstance(given, list):
            value = [_without_nulls(v) if isinstance(v, dict) else v for v in given]
        if value is not None:
            result[key] = value
    return result


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
