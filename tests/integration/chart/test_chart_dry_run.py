"""`helm template ... | kubectl apply --dry-run=server -f -` in both RBAC modes: the API
server (admission, schemas of built-in kinds, RBAC escalation checks) accepts the chart."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from chartkube import CHART, CommandError, Kube

pytestmark = pytest.mark.control_plane


def _apply_dry_run(
    kube: Kube, namespace: str, values: dict[str, Any], *extra: str
) -> tuple[list[dict[str, Any]], str]:
    values_file = kube.home / f"values-{namespace}.yaml"
    values_file.write_text(yaml.safe_dump(values))
    manifest = kube.helm(
        "template",
        "kasset",
        str(CHART),
        "--namespace",
        namespace,
        "--include-crds",
        "-f",
        str(values_file),
        *extra,
    )
    docs = [d for d in yaml.safe_load_all(manifest) if d]
    out = kube.kubectl("apply", "--dry-run=server", "-f", "-", input=manifest)
    return docs, out


def _assert_all_applied(docs: list[dict[str, Any]], out: str) -> None:
    for d in docs:
        kind, name = d["kind"].lower(), d["metadata"]["name"]
        pattern = rf"^{re.escape(kind)}[\w.]*/{re.escape(name)} \w+ \(server dry run\)$"
        assert re.search(pattern, out, re.M), f"{kind}/{name} not applied:\n{out}"


def test_cluster_mode_server_dry_run(chart_kube: Kube) -> None:
    ns = chart_kube.new_namespace()
    docs, out = _apply_dry_run(chart_kube, ns, {})
    _assert_all_applied(docs, out)
    assert {
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "Service",
        "Secret",
        "Lease",
        "PersistentVolumeClaim",
    } <= {d["kind"] for d in docs}


def test_namespaced_mode_server_dry_run(chart_kube: Kube) -> None:
    ns = chart_kube.new_namespace()
    watched = [chart_kube.new_namespace("kasset-team"), chart_kube.new_namespace("kasset-team")]
    docs, out = _apply_dry_run(
        chart_kube, ns, {"rbac": {"scope": "namespaced", "watchNamespaces": watched}}
    )
    _assert_all_applied(docs, out)
    role_namespaces = {d["metadata"]["namespace"] for d in docs if d["kind"] == "Role"}
    assert role_namespaces == {ns, *watched}


def test_every_option_server_dry_run(chart_kube: Kube) -> None:
    """hostPath volume, Ingress, existing secrets, one replica, namespaced in its own namespace."""
    ns = chart_kube.new_namespace()
    docs, out = _apply_dry_run(
        chart_kube,
        ns,
        {
            "replicas": 1,
            "rbac": {"scope": "namespaced"},
            "storage": {
                "hostPath": f"/tmp/kasset-chart-dry-run-{ns}",
                "storageClassName": "",
                "accessModes": ["ReadWriteOnce"],
                "size": "1Gi",
            },
            "ui": {"existingSecret": "ui", "ingress": {"enabled": True, "className": "nginx"}},
            "eventSecret": {"existingSecret": "ev"},
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "kasset"}},
                }
            ],
        },
    )
    _assert_all_applied(docs, out)
    assert {"PersistentVolume", "Ingress"} <= {d["kind"] for d in docs}


def test_monitoring_objects_need_the_prometheus_operator(chart_kube: Kube) -> None:
    """Rendered whenever enabled; without the monitoring.coreos.com CRDs the apply fails
    loudly (as documented) instead of silently skipping them."""
    ns = chart_kube.new_namespace()
    has_api = "monitoring.coreos.com/v1" in chart_kube.kubectl("api-versions").split()
    values = {"metrics": {"serviceMonitor": {"enabled": True}, "prometheusRule": {"enabled": True}}}
    if has_api:
        docs, out = _apply_dry_run(chart_kube, ns, values)
        _assert_all_applied(docs, out)
    else:
        missing = r"no matches for kind \"(ServiceMonitor|PrometheusRule)\""
        with pytest.raises(CommandError, match=missing):
            _apply_dry_run(chart_kube, ns, values)


def test_platform_options_server_dry_run(chart_kube: Kube) -> None:
    """Issue 17's options: no fixed uids, NetworkPolicy, step-pod defaults, extra volumes,
    probes, common labels, aggregated user roles: the API server accepts what they render."""
    ns = chart_kube.new_namespace()
    no_uids = {"runAsUser": None, "runAsGroup": None, "fsGroup": None}
    docs, out = _apply_dry_run(
        chart_kube,
        ns,
        {
            "podSecurityContext": no_uids,
            "securityContext": {"runAsUser": None, "runAsGroup": None},
            "commonLabels": {"cost-centre": "data"},
            "extraVolumes": [{"name": "ca", "configMap": {"name": "corp-ca"}}],
            "extraVolumeMounts": [{"name": "ca", "mountPath": "/etc/ssl/corp"}],
            "operator": {"probes": {"liveness": {"periodSeconds": 30, "timeoutSeconds": 5}}},
            "networkPolicy": {
                "enabled": True,
                "ingressFrom": [
                    {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "x"}}}
                ],
                "apiServerCIDRs": ["10.0.0.1/32"],
            },
            "stepPods": {
                "podSecurityContext": no_uids,
                "imagePullSecrets": [{"name": "regcred"}],
                "labels": {"sidecar.istio.io/inject": "false"},
            },
        },
    )
    _assert_all_applied(docs, out)
    assert {"NetworkPolicy", "ConfigMap", "ClusterRole"} <= {d["kind"] for d in docs}
