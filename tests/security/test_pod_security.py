"""Pod Security `restricted`: step pods (a real step, and a server-side dry run of
`build_step_pod` with every override) and the chart's pods are admitted in a namespace
that enforces it. The Pod Security admission plugin rejects violations at create time, so
an admitted pod (or a dry-run answer without a warning) is the proof."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
import yaml

from kasset.operator.model.pods import build_step_pod
from kasset.plan import StepKey
from kasset.resources import AssetGraphResource
from kube import REPO_ROOT, Kube
from operator_harness import PSA_LABELS, restrict_namespace

CHART = REPO_ROOT / "charts" / "kasset"
HELM = REPO_ROOT / "hack" / "helm"


def every_override_graph(image: str = "kasset:missing") -> AssetGraphResource:
    return AssetGraphResource.from_dict(
        {
            "metadata": {"name": "g", "namespace": "x"},
            "spec": {
                "image": image,
                "codeLocation": {"module": "proj.defs"},
                "storage": {
                    "uri": "file:///var/lib/kasset/storage",
                    "volume": {
                        "claimName": "kasset-storage",
                        "mountPath": "/var/lib/kasset/storage",
                    },
                    "secretName": "s3-creds",
                },
                "defaults": {
                    "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}},
                    "env": [
                        {"name": "PLAIN", "value": "1"},
                        {
                            "name": "FROM_SECRET",
                            "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}},
                        },
                    ],
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "tolerations": [
                        {
                            "key": "dedicated",
                            "operator": "Equal",
                            "value": "data",
                            "effect": "NoSchedule",
                        }
                    ],
                    "timeoutSeconds": 600,
                },
                "assets": [
                    {
                        "key": "raw/orders",
                        "resources": {
                            "requests": {"cpu": "100m", "memory": "128Mi"},
                            "limits": {"memory": "256Mi"},
                        },
                        "nodeSelector": {"kubernetes.io/arch": "amd64"},
                        "tolerations": [{"operator": "Exists"}],
                        "timeoutSeconds": 60,
                        "image": "kasset:other",
                        "retryPolicy": {"maxRetries": 1},
                    }
                ],
            },
        }
    )


def step_pod(namespace: str) -> dict[str, Any]:
    graph = every_override_graph()
    return build_step_pod(
        graph.spec,
        graph.spec.assets[0],
        namespace=namespace,
        graph="g",
        run="r1",
        step=StepKey.from_string("raw/orders"),
        attempt=1,
        event_url="http://10.244.0.1:8080/api/v1/events",
        token="not-a-real-token",
        owner={
            "apiVersion": "kasset.io/v1alpha1",
            "kind": "Materialization",
            "name": "r1",
            "uid": "00000000-0000-0000-0000-000000000001",
            "controller": True,
        },
    )


def test_the_step_pod_manifest_is_restricted_and_has_no_api_token() -> None:
    pod = step_pod("ns")
    spec = pod["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert not any("serviceaccount" in json.dumps(v) for v in spec.get("volumes", []))
    pod_sc = spec["securityContext"]
    assert pod_sc["runAsNonRoot"] is True
    assert pod_sc["seccompProfile"]["type"] == "RuntimeDefault"
    for container in spec["containers"] + spec.get("initContainers", []):
        sc = container["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert sc.get("readOnlyRootFilesystem") is True
        assert not sc.get("privileged")
    assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("hostIPC")
    assert not any("hostPath" in v for v in spec.get("volumes", []))


@pytest.mark.cluster
def test_a_step_pod_with_every_override_is_admitted_under_restricted(
    kube: Kube, namespace: str
) -> None:
    restrict_namespace(kube, namespace)
    pod = step_pod(namespace)
    pod["metadata"].pop("ownerReferences", None)  # the owner does not exist in a dry run
    proc = kube.kubectl(
        "create",
        "--dry-run=server",
        "-n",
        namespace,
        "-f",
        "-",
        "-o",
        "json",
        input=json.dumps(pod),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "violat" not in proc.stderr.lower(), proc.stderr
    # the same pod made privileged is refused there (the namespace really enforces)
    bad = json.loads(json.dumps(pod))
    bad["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    refused = kube.kubectl(
        "create",
        "--dry-run=server",
        "-n",
        namespace,
        "-f",
        "-",
        input=json.dumps(bad),
        check=False,
    )
    assert refused.returncode != 0 and "restricted" in refused.stderr, refused.stderr


@pytest.mark.cluster
def test_a_real_step_runs_under_restricted(world) -> None:  # type: ignore[no-untyped-def]
    labels = world.kube.get_json("namespace", world.namespace)["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in PSA_LABELS.items()), labels
    world.start_operator()
    world.apply_graph("e2e_projects.misbehaving", "defs", name="psa")
    world.submit("psa-run", graph="psa", selection="ok,token_probe")
    status = world.wait_run("psa-run", timeout=120)
    assert status["counts"]["succeeded"] == 2
    assert world.storage.read("token_probe")["token_exists"] is False


def _chart_manifest(namespace: str, values: dict[str, Any], tmp: Any) -> str:
    values_file = tmp / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    proc = subprocess.run(
        [
            str(HELM),
            "template",
            "kasset",
            str(CHART),
            "--namespace",
            namespace,
            "-f",
            str(values_file),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"helm template failed: {proc.stderr[-2000:]}")
    return proc.stdout


@pytest.mark.control_plane
@pytest.mark.parametrize("scope", ["cluster", "namespaced"])
def test_the_charts_pods_are_admitted_under_restricted(
    kube: Kube, namespace: str, scope: str, tmp_path: Any
) -> None:
    restrict_namespace(kube, namespace)
    values = {"replicas": 2, "rbac": {"scope": scope}}
    manifest = _chart_manifest(namespace, values, tmp_path)
    docs = [d for d in yaml.safe_load_all(manifest) if d]
    # only the namespaced objects: cluster-scoped ones (ClusterRoles, PV) are not what
    # Pod Security looks at, and a dry run of them could collide with other releases
    keep = [
        d for d in docs if d["kind"] in ("Deployment", "StatefulSet", "Pod", "Job", "DaemonSet")
    ]
    assert keep, [d["kind"] for d in docs]
    body = json.dumps({"apiVersion": "v1", "kind": "List", "items": keep})
    proc = kube.kubectl(
        "apply", "--dry-run=server", "-n", namespace, "-f", "-", input=body, check=False
    )
    assert proc.returncode == 0, proc.stderr
    # Deployments are checked by Pod Security as warnings (their pods are enforced)
    assert "violat" not in proc.stderr.lower(), proc.stderr
    for doc in keep:
        template = doc["spec"]["template"]["spec"]
        sa = template.get("serviceAccountName")
        if sa:  # the pod's ServiceAccount must exist for the dry run (it is real here)
            kube.kubectl("create", "serviceaccount", sa, "-n", namespace, check=False)
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"chart-{doc['metadata']['name']}"[:63]},
            "spec": template,
        }
        created = kube.kubectl(
            "create",
            "--dry-run=server",
            "-n",
            namespace,
            "-f",
            "-",
            input=json.dumps(pod),
            check=False,
        )
        assert created.returncode == 0, created.stderr
