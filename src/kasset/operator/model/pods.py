"""Builds the pod of one step attempt: a pure function from the graph spec to a manifest.

The name is derived from run, step and attempt, so creating it twice is a 409, which is
what keeps "one pod per step attempt" true across operator restarts. Pods run restricted:
non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp, and no
service account token (a step needs no Kubernetes API access).
"""

from __future__ import annotations

from typing import Any

from kasset import naming
from kasset.definitions.keys import StepKey
from kasset.operator.model.storage import StorageDefaults, effective_storage
from kasset.resources.assetgraph import AssetGraphSpec, GraphAsset, Storage

__all__ = [
    "ANNOTATION_ATTEMPT",
    "ANNOTATION_RUN",
    "ANNOTATION_STEP",
    "CONTAINER_NAME",
    "DEADLINE_GRACE_SECONDS",
    "LABEL_ASSET",
    "LABEL_ATTEMPT",
    "LABEL_GRAPH",
    "LABEL_RUN",
    "build_step_pod",
    "owner_reference",
]

LABEL_RUN = "kasset.io/run"
LABEL_ASSET = "kasset.io/asset"
LABEL_GRAPH = "kasset.io/graph"
LABEL_ATTEMPT = "kasset.io/attempt"
ANNOTATION_RUN = "kasset.io/run"
ANNOTATION_STEP = "kasset.io/step"
ANNOTATION_ATTEMPT = "kasset.io/attempt"
CONTAINER_NAME = "step"
#: The kubelet's activeDeadlineSeconds backstop fires this long after the operator's own
#: timeout, so the operator's clearer message normally wins.
DEADLINE_GRACE_SECONDS = 30
_TMP_VOLUME = "tmp"
_STORAGE_VOLUME = "storage"


def owner_reference(api_version: str, kind: str, name: str, uid: str) -> dict[str, Any]:
    """The controller ownerReference of a Materialization: its pods go when it goes."""
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def build_step_pod(
    graph_spec: AssetGraphSpec,
    asset_spec: GraphAsset,
    *,
    namespace: str,
    graph: str,
    run: str,
    step: StepKey,
    attempt: int,
    event_url: str | None,
    token: str | None,
    owner: dict[str, Any],
    storage_defaults: StorageDefaults | None = None,
) -> dict[str, Any]:
    """The pod manifest of `attempt` of `step` of `run`. Asset fields override defaults."""
    defaults = graph_spec.defaults
    step_text = step.to_string()
    name = naming.step_pod_name(run, step_text, attempt)
    resources = asset_spec.resources or defaults.resources
    timeout = asset_spec.timeout_seconds or defaults.timeout_seconds

    storage = effective_storage(graph_spec, namespace, storage_defaults)
    env = _env(graph_spec, storage, namespace, graph, run, step_text, attempt, event_url, token)
    mounts = [{"name": _TMP_VOLUME, "mountPath": "/tmp"}]
    volumes: list[dict[str, Any]] = [{"name": _TMP_VOLUME, "emptyDir": {}}]
    if storage.volume is not None:
        mounts.append({"name": _STORAGE_VOLUME, "mountPath": storage.volume.mount_path})
        volumes.append(
            {
                "name": _STORAGE_VOLUME,
                "persistentVolumeClaim": {"claimName": storage.volume.claim_name},
            }
        )
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": asset_spec.image or graph_spec.image,
        "imagePullPolicy": graph_spec.image_pull_policy.value,
        "command": ["kasset", "runtime"],
        "env": env,
        "volumeMounts": mounts,
        "terminationMessagePolicy": "File",
        "terminationMessagePath": "/dev/termination-log",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    if resources is not None and (resource_dict := resources.to_dict()):
        container["resources"] = resource_dict
    if storage.secret_name:
        container["envFrom"] = [{"secretRef": {"name": storage.secret_name}}]

    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 10,
        "activeDeadlineSeconds": timeout + DEADLINE_GRACE_SECONDS,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 1000,
            "runAsGroup": 1000,
            "fsGroup": 1000,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": volumes,
    }
    selector = asset_spec.node_selector
    if selector is None:
        selector = defaults.node_selector
    if selector:
        pod_spec["nodeSelector"] = dict(selector)
    chosen_tolerations = asset_spec.tolerations
    if chosen_tolerations is None:
        chosen_tolerations = defaults.tolerations
    if chosen_tolerations:
        pod_spec["tolerations"] = [t.to_dict() for t in chosen_tolerations]
    if defaults.service_account_name:
        pod_spec["serviceAccountName"] = defaults.service_account_name

    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                LABEL_RUN: naming.label_value(run),
                LABEL_ASSET: naming.label_value(step.asset.to_string()),
                LABEL_GRAPH: naming.label_value(graph),
                LABEL_ATTEMPT: str(attempt),
            },
            "annotations": {
                ANNOTATION_RUN: run,
                ANNOTATION_STEP: step_text,
                ANNOTATION_ATTEMPT: str(attempt),
            },
            "ownerReferences": [owner],
        },
        "spec": pod_spec,
    }


def _env(
    graph_spec: AssetGraphSpec,
    storage: Storage,
    namespace: str,
    graph: str,
    run: str,
    step: str,
    attempt: int,
    event_url: str | None,
    token: str | None,
) -> list[dict[str, Any]]:
    ours: dict[str, str] = {
        "KASSET_RUN": run,
        "KASSET_STEP": step,
        "KASSET_ATTEMPT": str(attempt),
        "KASSET_CODE": f"{graph_spec.code_location.module}:{graph_spec.code_location.attribute}",
        "KASSET_STORAGE_URI": storage.uri,
        "KASSET_NAMESPACE": namespace,
        "KASSET_GRAPH": graph,
        # A read-only root filesystem: libraries that write caches under $HOME need /tmp.
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
    }
    if event_url:
        separator = "&" if "?" in event_url else "?"
        ours["KASSET_EVENT_URL"] = f"{event_url}{separator}namespace={namespace}"
        if token:
            ours["KASSET_EVENT_TOKEN"] = token
    user = [e.to_dict() for e in graph_spec.defaults.env if e.name not in ours]
    return [*user, *({"name": k, "value": v} for k, v in ours.items())]
