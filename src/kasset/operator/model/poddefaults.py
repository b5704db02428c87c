"""Step-pod settings of the whole installation, merged under a graph's and an asset's own.

A platform team sets them once in the chart (`stepPods.*`, rendered into a JSON file the
operator reads at start, `$KASSET_STEP_POD_DEFAULTS`); data teams keep setting theirs in
the AssetGraph. The order, lowest first:

1. kasset's built-in pod (restricted security contexts, its volumes, env and labels);
2. the installation's defaults: security contexts replace the built-in ones; labels,
   annotations and node selector keys are added; env, volumes and volume mounts are
   added by name; tolerations and image pull secrets are appended; affinity and the
   priority class are set;
3. the graph's `spec.defaults` and the asset's own fields (already in the pod: they win
   every key and name they share with 2; kasset's own labels and `KASSET_*` env always win);
4. the installation's `podTemplatePatch`, applied last: the escape hatch. Maps merge
   recursively, lists of named objects (containers, env, volumes) merge by name, other
   values replace, and `null` deletes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from kasset.errors import KassetError

__all__ = ["PodDefaults", "PodDefaultsError", "apply_pod_defaults", "merge_patch"]

JSON = dict[str, Any]


class PodDefaultsError(KassetError):
    """The installation's step-pod defaults file is missing, unreadable or malformed."""


class PodDefaults(BaseModel):
    """What `stepPods` in the chart's values holds (camelCase, Kubernetes shapes)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    pod_security_context: JSON | None = None
    security_context: JSON | None = None
    image_pull_secrets: list[JSON] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    node_selector: dict[str, str] = Field(default_factory=dict)
    affinity: JSON | None = None
    tolerations: list[JSON] = Field(default_factory=list)
    priority_class_name: str | None = None
    env: list[JSON] = Field(default_factory=list)
    volumes: list[JSON] = Field(default_factory=list)
    volume_mounts: list[JSON] = Field(default_factory=list)
    pod_template_patch: JSON | None = None

    @classmethod
    def from_file(cls, path: str | Path) -> PodDefaults:
        """Parse the JSON (or YAML) file; a mistake is a one-line PodDefaultsError."""
        try:
            text = Path(path).read_text()
            data = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
            return cls.model_validate(data or {})
        except (OSError, ValueError, yaml.YAMLError) as error:
            detail = error
            if isinstance(error, ValidationError):
                first = error.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "(top)"
                detail = f"{where}: {first['msg']}"  # type: ignore[assignment]
            raise PodDefaultsError(f"step-pod defaults {path}: {detail}") from error


def apply_pod_defaults(pod: JSON, defaults: PodDefaults | None) -> JSON:
    """`pod` with the installation's defaults merged under what it already says.

    >>> pod = {"metadata": {"labels": {"team": "a"}}, "spec": {"containers": [{"name": "s"}]}}
    >>> out = apply_pod_defaults(pod, PodDefaults(labels={"team": "ops", "mesh": "off"}))
    >>> out["metadata"]["labels"]
    {'team': 'a', 'mesh': 'off'}
    """
    if defaults is None:
        return pod
    metadata, spec = dict(pod.get("metadata") or {}), dict(pod.get("spec") or {})
    metadata["labels"] = {**defaults.labels, **(metadata.get("labels") or {})}
    metadata["annotations"] = {**defaults.annotations, **(metadata.get("annotations") or {})}
    if defaults.pod_security_context is not None:
        spec["securityContext"] = dict(defaults.pod_security_context)
    if defaults.node_selector:
        spec["nodeSelector"] = {**defaults.node_selector, **(spec.get("nodeSelector") or {})}
    if defaults.affinity and "affinity" not in spec:
        spec["affinity"] = defaults.affinity
    if defaults.priority_class_name and "priorityClassName" not in spec:
        spec["priorityClassName"] = defaults.priority_class_name
    for field, extra in (
        ("tolerations", defaults.tolerations),
        ("imagePullSecrets", defaults.image_pull_secrets),
    ):
        if extra:
            spec[field] = [*(spec.get(field) or []), *extra]
    if defaults.volumes:
        spec["volumes"] = _under_by_name(spec.get("volumes") or [], defaults.volumes)
    containers = []
    for container in spec.get("containers") or []:
        c = dict(container)
        if defaults.security_context is not None:
            c["securityContext"] = dict(defaults.security_context)
        if defaults.env:
            c["env"] = _under_by_name(c.get("env") or [], defaults.env, first=True)
        if defaults.volume_mounts:
            c["volumeMounts"] = _under_by_name(c.get("volumeMounts") or [], defaults.volume_mounts)
        containers.append(c)
    spec["containers"] = containers
    merged = {**pod, "metadata": metadata, "spec": spec}
    if defaults.pod_template_patch:
        merged = merge_patch(merged, defaults.pod_template_patch)
    return merged


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 merge patch, except that lists of objects with a `name` merge by name.

    >>> target = {"a": [{"name": "x", "v": 1}], "b": 1}
    >>> merge_patch(target, {"a": [{"name": "x", "w": 2}], "b": None})
    {'a': [{'name': 'x', 'v': 1, 'w': 2}]}
    """
    if isinstance(patch, dict):
        out = dict(target) if isinstance(target, dict) else {}
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = merge_patch(out.get(key), value)
        return out
    if _named_list(patch) and _named_list(target):
        by_name = {item["name"]: item for item in target}
        for item in patch:
            by_name[item["name"]] = merge_patch(by_name.get(item["name"]), item)
        return list(by_name.values())
    return patch


def _named_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(i, dict) and "name" in i for i in value)


def _under_by_name(ours: list[JSON], theirs: list[JSON], *, first: bool = False) -> list[JSON]:
    """`theirs` entries whose name `ours` does not use, before (env) or after `ours`."""
    taken = {item.get("name") for item in ours}
    extra = [item for item in theirs if item.get("name") not in taken]
    return [*extra, *ours] if first else [*ours, *extra]
