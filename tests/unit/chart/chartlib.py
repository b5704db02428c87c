"""Helpers of the Helm chart's tests: run helm, pick rendered objects."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "charts" / "kasset"
RELEASE = "kasset"
NAMESPACE = "kasset-system"

Docs = list[dict[str, Any]]


class HelmError(Exception):
    """helm exited non-zero; the message is its stderr, then its stdout."""


def run_helm(
    helm_bin: str, *args: str, values: dict[str, Any] | None = None, tmp: Path, timeout: float = 120
) -> str:
    """Run helm with a private HOME-like state under ``tmp``; stdout, or HelmError."""
    cmd = [helm_bin, *args]
    if values is not None:
        f = tmp / f"values-{abs(hash(json.dumps(values, sort_keys=True)))}.yaml"
        f.write_text(yaml.safe_dump(values))
        cmd += ["-f", str(f)]
    env = {
        **os.environ,
        "HELM_CACHE_HOME": str(tmp / "helm-cache"),
        "HELM_CONFIG_HOME": str(tmp / "helm-config"),
        "HELM_DATA_HOME": str(tmp / "helm-data"),
    }
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )
    if proc.returncode != 0:
        raise HelmError(proc.stderr + proc.stdout)
    return proc.stdout


def parse(text: str) -> Docs:
    return [d for d in yaml.safe_load_all(text) if d]


def find(docs: Docs, kind: str, name: str | None = None, namespace: str | None = None) -> Docs:
    return [
        d
        for d in docs
        if d["kind"] == kind
        and (name is None or d["metadata"]["name"] == name)
        and (namespace is None or d["metadata"].get("namespace") == namespace)
    ]


def one(
    docs: Docs, kind: str, name: str | None = None, namespace: str | None = None
) -> dict[str, Any]:
    found = find(docs, kind, name, namespace)
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def rbac_rules(docs: Docs) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(role object, rule) for every rule of the operator's Roles and ClusterRoles (not the
    ones aggregated into the built-in user roles)."""
    return [
        (d, r)
        for d in docs
        if d["kind"] in ("Role", "ClusterRole") and not _aggregated(d)
        for r in d.get("rules") or []
    ]


def _aggregated(role: dict[str, Any]) -> bool:
    labels = role["metadata"].get("labels") or {}
    return any(k.startswith("rbac.authorization.k8s.io/aggregate-to-") for k in labels)
