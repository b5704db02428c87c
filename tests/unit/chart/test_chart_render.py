"""What `helm template` renders: the operator Deployment, least-privilege RBAC in both
modes, Services, storage, secrets and the optional monitoring and Ingress objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from chartlib import CHART, NAMESPACE, Docs, find, one, rbac_rules

Render = Callable[..., Docs]
FULL = "kasset"  # release "kasset" -> full name "kasset"
LEADER_LEASE = "kasset-operator"

MODES: dict[str, dict[str, Any]] = {
    "cluster": {},
    "namespaced": {"rbac": {"scope": "namespaced", "watchNamespaces": ["team-a", "team-b"]}},
    "namespaced-default": {"rbac": {"scope": "namespaced"}},
}


def _container(docs: Docs) -> dict[str, Any]:
    dep = one(docs, "Deployment", FULL)
    containers = dep["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _env(docs: Docs) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in _container(docs)["env"]}


def test_default_render_has_the_expected_objects(render: Render) -> None:
    docs = render()
    kinds = sorted((d["kind"], d["metadata"]["name"]) for d in docs)
    assert kinds == sorted(
        [
            ("ServiceAccount", FULL),
            ("Secret", f"{FULL}-events"),
            ("Secret", f"{FULL}-ui-token"),
            ("PersistentVolumeClaim", f"{FULL}-storage"),
            ("ClusterRole", f"{FULL}-{NAMESPACE}"),
            ("ClusterRole", f"{FULL}-{NAMESPACE}-view"),
            ("ClusterRole", f"{FULL}-{NAMESPACE}-edit"),
            ("ConfigMap", f"{FULL}-step-pods"),
            ("ClusterRoleBinding", f"{FULL}-{NAMESPACE}"),
            ("Role", f"{FULL}-leader"),
            ("RoleBinding", f"{FULL}-leader"),
            ("Service", FULL),
            ("Service", f"{FULL}-metrics"),
            ("Deployment", FULL),
            ("PodDisruptionBudget", FULL),
            ("Lease", LEADER_LEASE),
            ("PriorityLevelConfiguration", f"{FULL}-{NAMESPACE}"),
            ("FlowSchema", f"{FULL}-{NAMESPACE}"),
            ("FlowSchema", f"{FULL}-{NAMESPACE}-leases"),
        ]
    )
    for d in docs:
        labels = d["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "kasset"
        assert labels["app.kubernetes.io/instance"] == "kasset"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/version"] == "0.1.0"
        assert labels["helm.sh/chart"] == "kasset-0.1.0"
        if d["kind"] not in (
            "ClusterRole",
            "ClusterRoleBinding",
            "PersistentVolume",
            "PriorityLevelConfiguration",
            "FlowSchema",
        ):
            assert d["metadata"]["namespace"] == NAMESPACE


def test_chart_metadata() -> None:
    import yaml

    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert (chart["apiVersion"], chart["name"], chart["version"], chart["appVersion"]) == (
        "v2",
        "kasset",
        "0.1.0",
        "0.1.0",
    )


def test_deployment(render: Render) -> None:
    docs = render()
    dep = one(docs, "Deployment", FULL)
    spec = dep["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == FULL
    assert pod["automountServiceAccountToken"] is True
    assert pod["terminationGracePeriodSeconds"] == 30
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 1000
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    # the selector never includes the leader label (pods move in and out of it)
    assert "kasset.io/role" not in spec["selector"]["matchLabels"]
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()

    c = _container(docs)
    assert c["image"] == "kasset:0.1.0"
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert c["command"] == ["kasset"]
    assert c["args"] == [
        "operator",
        "--port",
        "8080",
        "--max-running",
        "100",
        "--pending-timeout",
        "600",
        "--infra-retries",
        "3",
        "--lease-name",
        "kasset-operator",
    ]
    assert c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 1000
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"memory": "512Mi"},
    }
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    assert mounts["/tmp"] == "tmp"
    assert mounts["/etc/kasset/ui"] == "ui-token"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes["tmp"]
    assert volumes["ui-token"]["secret"]["secretName"] == f"{FULL}-ui-token"
    assert volumes["ui-token"]["secret"]["items"] == [{"key": "token", "path": "token"}]
    # the operator does not mount the asset storage (step pods do)
    assert not any("persistentVolumeClaim" in v for v in pod["volumes"])


def test_lease_is_owned_by_the_release(render: Render) -> None:
    lease = one(render(), "Lease", LEADER_LEASE, NAMESPACE)
    assert lease["apiVersion"] == "coordination.k8s.io/v1"
    assert "spec" not in lease  # the operator owns the spec; upgrades never reset it
    docs = render({"leaderElection": {"leaseName": "other"}})
    assert one(docs, "Lease")["metadata"]["name"] == "other"
    args = _container(docs)["args"]
    assert args[args.index("--lease-name") + 1] == "other"
    leader_role = one(docs, "Role", f"{FULL}-leader")
    assert {
        "resourceNames": ["other"],
        "apiGroups": ["coordination.k8s.io"],
        "resources": ["leases"],
        "verbs": ["get", "update"],
    } in leader_role["rules"]


def test_operator_env(render: Render) -> None:
    env = _env(render())
    assert env["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["POD_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert env["KASSET_SERVICE_NAME"] == FULL
    assert env["KASSET_EVENT_URL"] == f"http://{FULL}.{NAMESPACE}.svc:8080/api/v1/events"
    assert env["KASSET_EVENT_SECRET"] == {
        "secretKeyRef": {"name": f"{FULL}-events", "key": "secret"}
    }
    assert env["KASSET_UI_TOKEN_FILE"] == "/etc/kasset/ui/token"
    assert env["KASSET_STORAGE_URI"] == "file:///var/lib/kasset/storage"
    assert env["KASSET_STORAGE_CLAIM"] == f"{FULL}-storage"
    assert env["KASSET_STORAGE_MOUNT_PATH"] == "/var/lib/kasset/storage"
    assert "KASSET_STORAGE_SECRET" not in env


def test_namespaced_args(render: Render) -> None:
    c = _container(render(MODES["namespaced"]))
    assert c["args"] == [
        "operator",
        "--port",
        "8080",
        "--namespace",
        "team-a",
        "--namespace",
        "team-b",
        "--max-running",
        "100",
        "--pending-timeout",
        "600",
        "--infra-retries",
        "3",
        "--lease-name",
        "kasset-operator",
    ]
    c = _container(render(MODES["namespaced-default"], "ops"))
    assert c["args"][3:5] == ["--namespace", "ops"]


def test_operator_values_reach_args_and_image(render: Render) -> None:
    docs = render(
        {
            "image": {"repository": "reg.example/kasset", "tag": "1.2.3", "pullPolicy": "Always"},
            "operator": {
                "maxRunning": 7,
                "pendingTimeoutSeconds": 30,
                "infraRetries": 0,
                "extraArgs": ["--verbose"],
                "extraEnv": [{"name": "X", "value": "1"}],
            },
            "replicas": 1,
        }
    )
    c = _container(docs)
    assert c["image"] == "reg.example/kasset:1.2.3"
    assert c["imagePullPolicy"] == "Always"
    assert c["args"][-9:] == [
        "--max-running",
        "7",
        "--pending-timeout",
        "30",
        "--infra-retries",
        "0",
        "--lease-name",
        "kasset-operator",
        "--verbose",
    ]
    assert {"name": "X", "value": "1"} in c["env"]
    assert one(docs, "Deployment")["spec"]["replicas"] == 1
    assert not find(docs, "PodDisruptionBudget")  # one replica: a PDB would block drains


def test_pdb_with_replicas(render: Render) -> None:
    pdb = one(render({"replicas": 3}), "PodDisruptionBudget", FULL)
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"] == "kasset"
    assert not find(render({"podDisruptionBudget": {"enabled": False}}), "PodDisruptionBudget")


def test_services(render: Render) -> None:
    docs = render()
    svc = one(docs, "Service", FULL)
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["selector"] == {
        "app.kubernetes.io/name": "kasset",
        "app.kubernetes.io/instance": "kasset",
        "app.kubernetes.io/component": "operator",
        "kasset.io/role": "leader",
    }
    assert svc["spec"]["ports"] == [
        {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}
    ]
    metrics = one(docs, "Service", f"{FULL}-metrics")
    assert metrics["spec"]["clusterIP"] == "None"
    assert "kasset.io/role" not in metrics["spec"]["selector"]
    assert metrics["spec"]["ports"][0]["name"] == "http"


def test_topology_and_scheduling_values(render: Render) -> None:
    tsc = [
        {
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "kasset"}},
        }
    ]
    docs = render(
        {
            "topologySpreadConstraints": tsc,
            "nodeSelector": {"a": "b"},
            "tolerations": [{"key": "k", "operator": "Exists"}],
            "priorityClassName": "high",
            "podAnnotations": {"x": "z"},
        }
    )
    pod = one(docs, "Deployment")["spec"]["template"]
    assert pod["spec"]["topologySpreadConstraints"] == tsc
    assert pod["spec"]["nodeSelector"] == {"a": "b"}
    assert pod["spec"]["priorityClassName"] == "high"
    annotations = pod["metadata"]["annotations"]
    assert annotations.pop("checksum/step-pods")  # rolls the operator when stepPods change
    assert annotations == {"x": "z"}
    default_pod = one(render(), "Deployment")["spec"]["template"]["spec"]
    assert "topologySpreadConstraints" not in default_pod


# ---------------------------------------------------------------- RBAC


@pytest.mark.parametrize("mode", sorted(MODES))
def test_rbac_has_no_wildcards_and_no_secrets(render: Render, mode: str) -> None:
    docs = render(MODES[mode])
    rules = rbac_rules(docs)
    assert rules
    for role, rule in rules:
        where = f"{role['kind']} {role['metadata']['name']}: {rule}"
        for field in ("apiGroups", "resources", "verbs", "resourceNames"):
            assert "*" not in (rule.get(field) or []), where
        assert not any(r == "secrets" or r.startswith("secrets/") for r in rule["resources"]), where
        assert not ({"escalate", "bind", "impersonate"} & set(rule["verbs"])), where
        assert rule["verbs"], where
        assert "nonResourceURLs" not in rule, where


@pytest.mark.parametrize("mode", sorted(MODES))
def test_leases_only_in_the_release_namespace_by_name(render: Render, mode: str) -> None:
    docs = render(MODES[mode])
    lease_rules = [(role, rule) for role, rule in rbac_rules(docs) if "leases" in rule["resources"]]
    assert {role["kind"] for role, _ in lease_rules} == {"Role"}
    assert {role["metadata"]["namespace"] for role, _ in lease_rules} == {NAMESPACE}
    for _, rule in lease_rules:
        assert rule["apiGroups"] == ["coordination.k8s.io"]
        if rule["verbs"] != ["create"]:  # create cannot be limited by name
            assert rule["resourceNames"] == [LEADER_LEASE]
            assert set(rule["verbs"]) == {"get", "update"}


def _verbs(
    docs: Docs, kind: str, resource: str, namespace: str | None = None, group: str = ""
) -> set[str]:
    out: set[str] = set()
    for role, rule in rbac_rules(docs):
        if role["kind"] != kind:
            continue
        if namespace is not None and role["metadata"].get("namespace") != namespace:
            continue
        if resource in rule["resources"] and group in rule["apiGroups"]:
            out |= set(rule["verbs"])
    return out


def test_cluster_mode_rules(render: Render) -> None:
    docs = render({"rbac": {"aggregateToDefaultRoles": False}})  # the users' roles aside
    assert len(find(docs, "ClusterRole")) == 1
    assert [r["metadata"]["namespace"] for r in find(docs, "Role")] == [NAMESPACE]
    cr = "ClusterRole"
    assert _verbs(docs, cr, "assetgraphs", group="kasset.io") == {
        "get",
        "list",
        "watch",
        "create",
        "delete",
        "patch",
    }
    assert _verbs(docs, cr, "materializations", group="kasset.io") == {
        "get",
        "list",
        "watch",
        "create",
        "delete",
        "patch",
    }
    assert _verbs(docs, cr, "assets", group="kasset.io") == {
        "get",
        "list",
        "watch",
        "create",
        "patch",
        "update",
        "delete",
    }
    for sub in ("assetgraphs/status", "materializations/status", "assets/status"):
        assert _verbs(docs, cr, sub, group="kasset.io") == {"get", "patch", "update"}
    assert _verbs(docs, cr, "pods") == {"get", "list", "watch", "create", "delete", "patch"}
    assert _verbs(docs, cr, "pods/log") == {"get"}
    assert _verbs(docs, cr, "events") == {"create", "patch"}
    assert _verbs(docs, cr, "events", group="events.k8s.io") == {"create", "patch"}
    assert _verbs(docs, cr, "customresourcedefinitions", group="apiextensions.k8s.io") == {
        "get",
        "list",
        "watch",
    }
    assert _verbs(docs, cr, "namespaces") == set()  # kopf skips namespace scans clusterwide
    binding = one(docs, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == one(docs, "ClusterRole")["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": FULL, "namespace": NAMESPACE}]


def test_namespaced_mode_rules(render: Render) -> None:
    docs = render(MODES["namespaced"])
    # cluster-wide: read-only CRD observation, nothing else
    cluster_rules = [rule for role, rule in rbac_rules(docs) if role["kind"] == "ClusterRole"]
    assert cluster_rules == [
        {
            "apiGroups": ["apiextensions.k8s.io"],
            "resources": ["customresourcedefinitions"],
            "verbs": ["get", "list", "watch"],
        }
    ]
    roles = {(r["metadata"]["namespace"], r["metadata"]["name"]) for r in find(docs, "Role")}
    assert roles == {("team-a", FULL), ("team-b", FULL), (NAMESPACE, f"{FULL}-leader")}
    for ns in ("team-a", "team-b"):
        assert _verbs(docs, "Role", "pods", ns) == {"get", "list", "watch", "create", "delete"}
        assert _verbs(docs, "Role", "materializations", ns, "kasset.io") == {
            "get",
            "list",
            "watch",
            "create",
            "delete",
            "patch",
        }
        assert _verbs(docs, "Role", "assets/status", ns, "kasset.io") == {"get", "patch", "update"}
        assert _verbs(docs, "Role", "pods/log", ns) == {"get"}
        binding = one(docs, "RoleBinding", FULL, ns)
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": FULL,
        }
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": FULL, "namespace": NAMESPACE}
        ]
    # patching pods (the leader label) only in the release namespace
    assert _verbs(docs, "Role", "pods", NAMESPACE) == {"get", "patch"}
    assert _verbs(docs, "Role", "materializations", NAMESPACE, "kasset.io") == set()


def test_rbac_create_false_renders_no_rbac(render: Render) -> None:
    docs = render({"rbac": {"create": False}, "serviceAccount": {"create": False, "name": "ops"}})
    assert not [
        d
        for d in docs
        if d["kind"]
        in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "ServiceAccount")
    ]
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "ops"


def test_two_releases_do_not_share_cluster_objects(render: Render) -> None:
    a = {d["metadata"]["name"] for d in render(None, "ns-a") if d["kind"].startswith("Cluster")}
    b = {d["metadata"]["name"] for d in render(None, "ns-b") if d["kind"].startswith("Cluster")}
    assert a and not (a & b)


# ---------------------------------------------------------------- API priority


def test_the_operator_gets_its_own_api_priority_level(render: Render) -> None:
    docs = render({"serviceAccount": {"name": "ops"}})
    name = f"{FULL}-{NAMESPACE}"
    level = one(docs, "PriorityLevelConfiguration", name)
    assert level["apiVersion"] == "flowcontrol.apiserver.k8s.io/v1"
    limited = level["spec"]["limited"]
    assert limited["nominalConcurrencyShares"] == 30 and limited["lendablePercent"] == 50
    assert limited["limitResponse"]["type"] == "Queue"
    schema = one(docs, "FlowSchema", name)["spec"]
    assert schema["priorityLevelConfiguration"] == {"name": name}
    assert 900 < schema["matchingPrecedence"] < 9000  # after system, before service-accounts
    subject = {"kind": "ServiceAccount", "serviceAccount": {"name": "ops", "namespace": NAMESPACE}}
    assert schema["rules"][0]["subjects"] == [subject]
    leases = one(docs, "FlowSchema", f"{name}-leases")["spec"]
    assert leases["priorityLevelConfiguration"] == {"name": "leader-election"}
    assert leases["matchingPrecedence"] < schema["matchingPrecedence"]
    assert leases["rules"][0]["subjects"] == [subject]
    assert leases["rules"][0]["resourceRules"][0]["resources"] == ["leases"]
    assert leases["rules"][0]["resourceRules"][0]["namespaces"] == [NAMESPACE]


def test_api_priority_can_be_left_to_the_cluster(render: Render) -> None:
    docs = render({"apiPriority": {"enabled": False}})
    assert not find(docs, "FlowSchema") and not find(docs, "PriorityLevelConfiguration")


# ---------------------------------------------------------------- storage


def test_pvc_mode_keeps_the_claim(render: Render) -> None:
    pvc = one(render(), "PersistentVolumeClaim", f"{FULL}-storage")
    assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert pvc["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert "storageClassName" not in pvc["spec"]  # null: the cluster default class
    pvc = one(
        render(
            {
                "storage": {
                    "keep": False,
                    "storageClassName": "fast",
                    "size": "1Gi",
                    "accessModes": ["ReadWriteOnce"],
                }
            }
        ),
        "PersistentVolumeClaim",
    )
    assert "annotations" not in pvc["metadata"]
    assert pvc["spec"]["storageClassName"] == "fast"
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pvc["spec"]["resources"]["requests"]["storage"] == "1Gi"
    pvc = one(render({"storage": {"storageClassName": ""}}), "PersistentVolumeClaim")
    assert pvc["spec"]["storageClassName"] == ""


def test_hostpath_volume(render: Render) -> None:
    docs = render({"storage": {"hostPath": "/srv/kasset", "accessModes": ["ReadWriteOnce"]}})
    pv = one(docs, "PersistentVolume")
    pvc = one(docs, "PersistentVolumeClaim")
    assert pv["spec"]["hostPath"] == {"path": "/srv/kasset", "type": "DirectoryOrCreate"}
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert pv["spec"]["claimRef"] == {"namespace": NAMESPACE, "name": pvc["metadata"]["name"]}
    assert pvc["spec"]["volumeName"] == pv["metadata"]["name"]
    assert pv["spec"]["storageClassName"] == pvc["spec"]["storageClassName"] == ""
    assert "namespace" not in pv["metadata"]


def test_existing_claim_mode(render: Render) -> None:
    docs = render(
        {"storage": {"mode": "existingClaim", "existingClaim": "shared-data", "mountPath": "/data"}}
    )
    assert not find(docs, "PersistentVolumeClaim")
    env = _env(docs)
    assert env["KASSET_STORAGE_CLAIM"] == "shared-data"
    assert env["KASSET_STORAGE_URI"] == "file:///data"
    assert env["KASSET_STORAGE_MOUNT_PATH"] == "/data"


def test_url_mode(render: Render) -> None:
    docs = render(
        {"storage": {"mode": "url", "url": "s3://bucket/kasset", "credentialsSecret": "s3-creds"}}
    )
    assert not find(docs, "PersistentVolumeClaim")
    env = _env(docs)
    assert env["KASSET_STORAGE_URI"] == "s3://bucket/kasset"
    assert env["KASSET_STORAGE_SECRET"] == "s3-creds"
    assert "KASSET_STORAGE_CLAIM" not in env and "KASSET_STORAGE_MOUNT_PATH" not in env
    env = _env(render({"storage": {"mode": "url", "url": "gs://b/p"}}))
    assert "KASSET_STORAGE_SECRET" not in env


# ---------------------------------------------------------------- secrets


def test_generated_secrets(render: Render) -> None:
    import base64

    docs = render()
    events = one(docs, "Secret", f"{FULL}-events")
    token = one(docs, "Secret", f"{FULL}-ui-token")
    assert len(base64.b64decode(events["data"]["secret"])) == 48
    assert len(base64.b64decode(token["data"]["token"])) == 48
    assert events["data"]["secret"] != token["data"]["token"]


def test_existing_secrets(render: Render) -> None:
    docs = render(
        {
            "ui": {"existingSecret": "my-ui", "existingSecretKey": "t"},
            "eventSecret": {"existingSecret": "my-ev", "existingSecretKey": "k"},
        }
    )
    assert not find(docs, "Secret")
    env = _env(docs)
    assert env["KASSET_EVENT_SECRET"] == {"secretKeyRef": {"name": "my-ev", "key": "k"}}
    volumes = {v["name"]: v for v in one(docs, "Deployment")["spec"]["template"]["spec"]["volumes"]}
    assert volumes["ui-token"]["secret"]["secretName"] == "my-ui"
    assert volumes["ui-token"]["secret"]["items"] == [{"key": "t", "path": "token"}]


# ---------------------------------------------------------------- optional objects


def test_optional_objects_off_by_default(render: Render) -> None:
    kinds = {d["kind"] for d in render()}
    assert not kinds & {"ServiceMonitor", "PrometheusRule", "Ingress", "PersistentVolume"}


def test_service_monitor(render: Render) -> None:
    docs = render(
        {
            "metrics": {
                "serviceMonitor": {
                    "enabled": True,
                    "interval": "15s",
                    "labels": {"release": "prom"},
                }
            }
        }
    )
    sm = one(docs, "ServiceMonitor", FULL)
    assert sm["apiVersion"] == "monitoring.coreos.com/v1"
    assert sm["metadata"]["labels"]["release"] == "prom"
    assert sm["spec"]["endpoints"] == [
        {"port": "http", "path": "/metrics", "interval": "15s", "scrapeTimeout": "10s"}
    ]
    # selects the headless all-replicas Service only, not the leader Service
    selector = sm["spec"]["selector"]["matchLabels"]
    metrics_svc = one(docs, "Service", f"{FULL}-metrics")
    leader_svc = one(docs, "Service", FULL)
    assert selector.items() <= metrics_svc["metadata"]["labels"].items()
    assert not selector.items() <= leader_svc["metadata"]["labels"].items()


def test_prometheus_rule(render: Render) -> None:
    docs = render({"metrics": {"prometheusRule": {"enabled": True, "staleAfterSeconds": 7200}}})
    rule = one(docs, "PrometheusRule", FULL)
    alerts = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]}
    assert set(alerts) == {"KassetRunsFailing", "KassetAssetStale", "KassetOperatorDown"}
    assert "kasset_runs_total{" in alerts["KassetRunsFailing"]["expr"]
    assert 'phase="Failed"' in alerts["KassetRunsFailing"]["expr"]
    assert "[15m]" in alerts["KassetRunsFailing"]["expr"]
    stale = alerts["KassetAssetStale"]["expr"]
    assert stale.startswith("time() - ")
    assert "kasset_asset_last_materialized_timestamp_seconds" in stale
    assert stale.endswith("> 7200")
    assert "up{" in alerts["KassetOperatorDown"]["expr"]
    assert alerts["KassetOperatorDown"]["labels"]["severity"] == "critical"
    # Prometheus templates survive Helm's templating
    assert "{{ $labels.asset }}" in alerts["KassetAssetStale"]["annotations"]["summary"]


def test_ingress(render: Render) -> None:
    docs = render(
        {
            "ui": {
                "ingress": {
                    "enabled": True,
                    "className": "nginx",
                    "hosts": [
                        {
                            "host": "kasset.example.com",
                            "paths": [{"path": "/", "pathType": "Prefix"}],
                        }
                    ],
                    "tls": [{"secretName": "tls", "hosts": ["kasset.example.com"]}],
                }
            }
        }
    )
    ing = one(docs, "Ingress", FULL)
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert ing["spec"]["tls"] == [{"secretName": "tls", "hosts": ["kasset.example.com"]}]
    rule = ing["spec"]["rules"][0]
    assert rule["host"] == "kasset.example.com"
    assert rule["http"]["paths"][0]["backend"] == {
        "service": {"name": FULL, "port": {"number": 8080}}
    }


def test_notes(helm: Callable[..., str]) -> None:
    out = helm("install", "kasset", str(CHART), "--namespace", "demo", "--dry-run=client")
    notes = out.split("NOTES:", 1)[1]
    assert "kubectl -n demo port-forward svc/kasset 8080:8080" in notes
    assert "http://127.0.0.1:8080" in notes
    assert (
        "kubectl -n demo get secret kasset-ui-token -o jsonpath='{.data.token}' | base64 -d"
    ) in notes
    assert "kubectl delete crd" in notes


def test_full_name_rules(render: Render, helm: Callable[..., str]) -> None:
    out = helm(
        "template", "prod", str(CHART), "--namespace", "x", "--show-only", "templates/service.yaml"
    )
    assert "name: prod-kasset\n" in out
    out = helm(
        "template",
        "prod",
        str(CHART),
        "--show-only",
        "templates/service.yaml",
        "--set",
        "fullnameOverride=ka",
    )
    assert "name: ka\n" in out and "name: ka-metrics\n" in out
