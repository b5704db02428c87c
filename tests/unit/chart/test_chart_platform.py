"""What a platform team configures (issue 17): security contexts without fixed uids, the
step-pod defaults the operator reads, extension points, the NetworkPolicy, aggregated user
roles, the ServiceMonitor's knobs, GitOps-stable renders and the generated values table."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from chartlib import NAMESPACE, REPO, Docs, HelmError, find, one

from kasset.operator.model.poddefaults import PodDefaults

Render = Callable[..., Docs]
FULL = "kasset"
NO_UIDS = {"runAsUser": None, "runAsGroup": None, "fsGroup": None}
OPENSHIFT = {
    "podSecurityContext": NO_UIDS,
    "securityContext": {"runAsUser": None, "runAsGroup": None},
    "stepPods": {"podSecurityContext": NO_UIDS},
}


def _pod(docs: Docs) -> dict[str, Any]:
    spec: dict[str, Any] = one(docs, "Deployment", FULL)["spec"]["template"]
    return spec


def _step_defaults(docs: Docs) -> PodDefaults:
    config = one(docs, "ConfigMap", f"{FULL}-step-pods")
    return PodDefaults.model_validate(json.loads(config["data"]["defaults.json"]))


def test_default_security_contexts_are_todays_fixed_uid_1000(render: Render) -> None:
    docs = render()
    pod = _pod(docs)["spec"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "runAsGroup": 1000,
        "fsGroup": 1000,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    container = pod["containers"][0]["securityContext"]
    assert container["runAsUser"] == 1000
    assert container["readOnlyRootFilesystem"] is True
    assert container["capabilities"] == {"drop": ["ALL"]}
    steps = _step_defaults(docs)
    assert steps.pod_security_context is not None
    assert steps.pod_security_context["runAsUser"] == 1000
    assert steps.security_context == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


def test_an_openshift_render_has_no_fixed_uid_anywhere(render: Render) -> None:
    docs = render(OPENSHIFT)
    rendered = json.dumps(docs)
    for key in ("runAsUser", "runAsGroup", "fsGroup"):
        assert key not in rendered, key
    pod = _pod(docs)["spec"]
    # the rest of the restricted profile stays
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["containers"][0]["securityContext"]["allowPrivilegeEscalation"] is False
    steps = _step_defaults(docs)
    assert steps.pod_security_context == {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def test_the_schema_rejects_a_uid_that_is_not_a_number(render: Render) -> None:
    with pytest.raises(HelmError, match="runAsUser"):
        render({"podSecurityContext": {"runAsUser": "root"}})
    with pytest.raises(HelmError, match="stepPods"):
        render({"stepPods": {"imagePullSecret": [{"name": "x"}]}})


def test_step_pod_defaults_reach_the_operator_as_a_mounted_file(render: Render) -> None:
    step_pods = {
        "imagePullSecrets": [{"name": "regcred"}],
        "labels": {"sidecar.istio.io/inject": "false"},
        "annotations": {"a": "b"},
        "affinity": {"nodeAffinity": {}},
        "tolerations": [{"key": "batch", "operator": "Exists"}],
        "priorityClassName": "batch-low",
        "env": [{"name": "HTTPS_PROXY", "value": "http://proxy:3128"}],
        "volumes": [{"name": "ca", "configMap": {"name": "corp-ca"}}],
        "volumeMounts": [{"name": "ca", "mountPath": "/etc/ssl/corp"}],
        "podTemplatePatch": {"spec": {"dnsPolicy": "Default"}},
    }
    docs = render({"stepPods": step_pods})
    steps = _step_defaults(docs)
    assert steps.labels == {"sidecar.istio.io/inject": "false"}
    assert steps.priority_class_name == "batch-low"
    assert steps.image_pull_secrets == [{"name": "regcred"}]
    assert steps.pod_template_patch == {"spec": {"dnsPolicy": "Default"}}
    assert steps.volume_mounts == [{"name": "ca", "mountPath": "/etc/ssl/corp"}]
    pod = _pod(docs)
    container = pod["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["KASSET_STEP_POD_DEFAULTS"] == "/etc/kasset/step-pods/defaults.json"
    assert {
        "name": "step-pods",
        "mountPath": "/etc/kasset/step-pods",
        "readOnly": True,
    } in container["volumeMounts"]
    assert {"name": "step-pods", "configMap": {"name": f"{FULL}-step-pods"}} in pod["spec"][
        "volumes"
    ]
    # a change of the defaults rolls the operator (it reads them at start)
    before = _pod(render())["metadata"]["annotations"]["checksum/step-pods"]
    assert pod["metadata"]["annotations"]["checksum/step-pods"] != before


def test_extra_volumes_common_labels_and_probes(render: Render) -> None:
    docs = render(
        {
            "commonLabels": {"cost-centre": "data"},
            "extraVolumes": [{"name": "ca", "configMap": {"name": "corp-ca"}}],
            "extraVolumeMounts": [{"name": "ca", "mountPath": "/etc/ssl/corp"}],
            "operator": {"probes": {"liveness": {"periodSeconds": 30, "initialDelaySeconds": 5}}},
        }
    )
    assert all(d["metadata"]["labels"]["cost-centre"] == "data" for d in docs)
    pod = _pod(docs)
    assert pod["metadata"]["labels"]["cost-centre"] == "data"
    selector = one(docs, "Deployment", FULL)["spec"]["selector"]["matchLabels"]
    assert "cost-centre" not in selector  # selectors are immutable: never user labels
    assert {"name": "ca", "configMap": {"name": "corp-ca"}} in pod["spec"]["volumes"]
    container = pod["spec"]["containers"][0]
    assert {"name": "ca", "mountPath": "/etc/ssl/corp"} in container["volumeMounts"]
    assert container["livenessProbe"] == {
        "httpGet": {"path": "/healthz", "port": "http"},
        "periodSeconds": 30,
        "initialDelaySeconds": 5,
        "timeoutSeconds": 3,
        "failureThreshold": 3,
    }
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["startupProbe"]["failureThreshold"] == 60


def test_the_network_policy_admits_step_pods_and_the_ingress_and_lets_out_only_the_api(
    render: Render,
) -> None:
    assert not find(render(), "NetworkPolicy")
    ingress_peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "nginx"}}}
    docs = render(
        {
            "networkPolicy": {
                "enabled": True,
                "ingressFrom": [ingress_peer],
                "apiServerCIDRs": ["10.0.0.1/32"],
            }
        }
    )
    policy = one(docs, "NetworkPolicy", FULL)["spec"]
    assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "operator"
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    (rule,) = policy["ingress"]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    steps, ingress = rule["from"]
    assert steps["podSelector"] == {
        "matchExpressions": [{"key": "kasset.io/run", "operator": "Exists"}]
    }
    assert steps["namespaceSelector"] == {}
    assert ingress == ingress_peer
    api, dns = policy["egress"]
    assert api["to"] == [{"ipBlock": {"cidr": "10.0.0.1/32"}}]
    assert [p["port"] for p in api["ports"]] == [443, 6443]
    assert {p["port"] for p in dns["ports"]} == {53}
    # namespaced scope: step pods only from the watched namespaces
    scoped = render(
        {
            "rbac": {"scope": "namespaced", "watchNamespaces": ["team-a"]},
            "networkPolicy": {"enabled": True},
        }
    )
    steps = one(scoped, "NetworkPolicy", FULL)["spec"]["ingress"][0]["from"][0]
    assert steps["namespaceSelector"]["matchExpressions"][0]["values"] == ["team-a"]


def test_aggregated_roles_let_viewers_read_and_editors_run(render: Render) -> None:
    docs = render()
    view = one(docs, "ClusterRole", f"{FULL}-{NAMESPACE}-view")
    edit = one(docs, "ClusterRole", f"{FULL}-{NAMESPACE}-edit")
    for label in ("view", "edit", "admin"):
        assert (
            view["metadata"]["labels"][f"rbac.authorization.k8s.io/aggregate-to-{label}"] == "true"
        )
    assert "rbac.authorization.k8s.io/aggregate-to-view" not in edit["metadata"]["labels"]
    assert edit["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-edit"] == "true"
    assert {v for r in view["rules"] for v in r["verbs"]} == {"get", "list", "watch"}
    writes = {res for r in edit["rules"] for res in r["resources"]}
    assert writes == {"assetgraphs", "materializations"}  # Assets are the operator's
    assert not any("secrets" in r["resources"] for r in view["rules"] + edit["rules"])
    off = render({"rbac": {"aggregateToDefaultRoles": False}})
    assert not find(off, "ClusterRole", f"{FULL}-{NAMESPACE}-view")


def test_service_monitor_namespace_and_relabelings(render: Render) -> None:
    relabel = [{"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node"}]
    drop = [{"sourceLabels": ["__name__"], "regex": "python_gc_.*", "action": "drop"}]
    docs = render(
        {
            "metrics": {
                "serviceMonitor": {
                    "enabled": True,
                    "namespace": "monitoring",
                    "relabelings": relabel,
                    "metricRelabelings": drop,
                    "targetLabels": ["app.kubernetes.io/instance"],
                }
            }
        }
    )
    monitor = one(docs, "ServiceMonitor", FULL)
    assert monitor["metadata"]["namespace"] == "monitoring"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["relabelings"] == relabel
    assert endpoint["metricRelabelings"] == drop
    assert monitor["spec"]["targetLabels"] == ["app.kubernetes.io/instance"]


def test_with_existing_secrets_two_renders_are_identical(render: Render) -> None:
    """Argo CD renders on every sync: with both Secrets brought, nothing random is left."""
    gitops = {
        "eventSecret": {"existingSecret": "kasset-events"},
        "ui": {"existingSecret": "kasset-ui-token"},
    }
    first, second = render(gitops), render(gitops)
    assert first == second
    assert not find(first, "Secret")
    env = {e["name"]: e.get("valueFrom") for e in _pod(first)["spec"]["containers"][0]["env"]}
    assert env["KASSET_EVENT_SECRET"] == {
        "secretKeyRef": {"name": "kasset-events", "key": "secret"}
    }
    # without them the generated values differ between renders (lookup is empty there)
    assert render() != render()


def test_the_values_table_of_the_chart_readme_is_current() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "hack/chart-readme"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_every_value_appears_in_the_chart_readme() -> None:
    import yaml

    readme = (REPO / "charts/kasset/README.md").read_text()
    values = yaml.safe_load((REPO / "charts/kasset/values.yaml").read_text())
    for key in values:
        assert f"`{key}" in readme, key
