"""The platform options of issue 17 installed on the local cluster: ordinary users get kasset
permissions through the aggregated roles, and an operator installed without fixed uids,
with a NetworkPolicy and installation-wide step-pod defaults, runs a graph whose pods
carry those defaults."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chartkube import CHART, Kube, hostpath_release, wait_until

from operator_harness import compile_graph, e2e_image, install_crds, materialization

RELEASE = "kasset"


def _can(kube: Kube, user: str, verb: str, resource: str, ns: str, *flags: str) -> bool:
    out = kube.kubectl(
        "auth", "can-i", verb, resource, "-n", ns, f"--as={user}", *flags, check=False
    )
    return out.strip() == "yes"


@pytest.mark.control_plane
def test_users_bound_to_view_or_edit_can_read_kasset_and_editors_can_run_it(
    chart_kube: Kube, request: pytest.FixtureRequest
) -> None:
    kube = chart_kube
    ns = kube.new_namespace("kasset-users")
    request.addfinalizer(lambda: kube.helm("uninstall", RELEASE, "-n", ns, "--wait", check=False))
    # The CRDs are kubectl-applied on a shared cluster (as the chart README's upgrade step
    # does); Helm's own CRD install would conflict with that field manager.
    install_crds(kube)
    kube.helm("install", RELEASE, str(CHART), "-n", ns, "--skip-crds", "--set", "replicas=0")
    kube.kubectl("create", "rolebinding", "viewer", "--clusterrole=view", "--user=vera", "-n", ns)
    kube.kubectl("create", "rolebinding", "editor", "--clusterrole=edit", "--user=ed", "-n", ns)
    # the aggregation controller folds the chart's ClusterRoles into view and edit
    wait_until(
        "view to include kasset's resources",
        lambda: _can(kube, "vera", "list", "assets.kasset.io", ns),
        timeout=60,
    )
    for resource in ("assets.kasset.io", "assetgraphs.kasset.io", "materializations.kasset.io"):
        assert _can(kube, "vera", "get", resource, ns), resource
        assert _can(kube, "vera", "watch", resource, ns), resource
    assert not _can(kube, "vera", "create", "materializations.kasset.io", ns)
    wait_until(
        "edit to allow creating Materializations",
        lambda: _can(kube, "ed", "create", "materializations.kasset.io", ns),
        timeout=60,
    )
    assert _can(kube, "ed", "delete", "materializations.kasset.io", ns)
    assert _can(kube, "ed", "patch", "assetgraphs.kasset.io", ns)
    assert not _can(kube, "ed", "update", "assets.kasset.io", ns)  # the operator's
    # (`can-i VERB RESOURCE/NAME` names an object; a subresource is its own flag)
    assert not _can(kube, "ed", "patch", "materializations.kasset.io", ns, "--subresource=status")
    # elsewhere nobody gets anything from this
    other = kube.new_namespace("kasset-users-other")
    assert not _can(kube, "vera", "list", "assets.kasset.io", other)


def _pods(kube: Kube, ns: str, selector: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = kube.get("pods", namespace=ns, selector=selector)["items"]
    return items


@pytest.mark.cluster
def test_an_operator_without_fixed_uids_runs_steps_with_the_installation_defaults(
    full_cluster: Kube, request: pytest.FixtureRequest
) -> None:
    kube = full_cluster
    image = e2e_image()
    ns = kube.new_namespace("kasset-platform")
    volume = hostpath_release(kube, RELEASE, ns, request.addfinalizer)
    repo, _, tag = image.rpartition(":")
    values = {
        "image": {"repository": repo, "tag": tag, "pullPolicy": "Never"},
        "rbac": {"scope": "namespaced"},
        "storage": {
            "hostPath": str(volume),
            "storageClassName": "",
            "accessModes": ["ReadWriteOnce"],
            "size": "1Gi",
        },
        # as on OpenShift restricted-v2: no uid anywhere (the image's numeric USER applies)
        "podSecurityContext": {"runAsUser": None, "runAsGroup": None, "fsGroup": None},
        "securityContext": {"runAsUser": None, "runAsGroup": None},
        "commonLabels": {"cost-centre": "data"},
        "extraVolumes": [{"name": "scratch", "emptyDir": {}}],
        "extraVolumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
        "operator": {"probes": {"readiness": {"periodSeconds": 3}}},
        "networkPolicy": {"enabled": True},
        "stepPods": {
            "podSecurityContext": {"runAsUser": None, "runAsGroup": None, "fsGroup": None},
            "labels": {"sidecar.istio.io/inject": "false"},
            "annotations": {"platform/owner": "data-platform"},
            "env": [{"name": "PLATFORM_ENV", "value": "prod"}],
            "tolerations": [{"key": "kasset-test", "operator": "Exists"}],
            "podTemplatePatch": {
                "spec": {"dnsConfig": {"options": [{"name": "ndots", "value": "2"}]}}
            },
        },
    }
    values_file = kube.home / f"values-{ns}.json"
    values_file.write_text(json.dumps(values))
    install_crds(kube)
    kube.helm(
        "install", RELEASE, str(CHART), "-n", ns, "--skip-crds", "-f", str(values_file),
        "--wait", "--timeout", "5m",
    )  # fmt: skip
    operators = _pods(kube, ns, f"app.kubernetes.io/instance={RELEASE}")
    assert operators and all(p["metadata"]["labels"]["cost-centre"] == "data" for p in operators)
    for pod in operators:
        assert "runAsUser" not in json.dumps(pod["spec"])
    assert kube.exists("networkpolicy", RELEASE, ns)

    graph = compile_graph("e2e_projects.chain", "defs", image=image, name="chain", namespace=ns)
    graph["spec"].pop("storage", None)
    graph["spec"]["schedules"] = []
    kube.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(graph))
    kube.kubectl("create", "-f", "-", input=json.dumps(materialization("run1", "chain", ns, "c1+")))
    final = wait_until(
        "the run to finish",
        lambda: (
            (
                (s := kube.get("materialization", "run1", ns).get("status") or {}).get("phase")
                in {"Succeeded", "Failed"}
            )
            and s
        ),
        timeout=240,
        interval=2,
    )
    assert final["phase"] == "Succeeded", final
    steps = _pods(kube, ns, "kasset.io/run=run1")
    assert len(steps) == 2
    for pod in steps:
        spec = pod["spec"]
        assert pod["metadata"]["labels"]["sidecar.istio.io/inject"] == "false"
        assert pod["metadata"]["annotations"]["platform/owner"] == "data-platform"
        assert "runAsUser" not in json.dumps(spec)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert {"key": "kasset-test", "operator": "Exists"} in spec["tolerations"]
        assert spec["dnsConfig"] == {"options": [{"name": "ndots", "value": "2"}]}
        env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
        assert env["PLATFORM_ENV"] == "prod"
        assert env["KASSET_RUN"] == "run1"
