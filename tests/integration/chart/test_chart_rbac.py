"""Least privilege of the operator's ServiceAccount, asked of the API server
(`kubectl auth can-i --as=system:serviceaccount:...`) after a real `helm install`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chartkube import CHART, Kube
from rbac import Check, can_i_matrix, format_matrix, mismatches

pytestmark = pytest.mark.control_plane

SA = "kasset"
LEASE = "kasset-operator"


def _install(kube: Kube, ns: str, *sets: str) -> None:
    # replicas=0: only the RBAC objects matter here (no pods, works without a kubelet)
    kube.helm(
        "install",
        "kasset",
        str(CHART),
        "--namespace",
        ns,
        "--set",
        "replicas=0",
        *(a for s in sets for a in ("--set", s)),
    )


@pytest.fixture
def uninstall(chart_kube: Kube) -> Iterator[list[str]]:
    releases: list[str] = []
    yield releases
    for ns in releases:
        chart_kube.helm("uninstall", "kasset", "--namespace", ns, "--wait", check=False)


def _common_denials(release_ns: str, other_ns: str) -> list[Check]:
    """What the operator may never do, whatever the mode."""
    out = [
        # no Secrets at all: the operator reads its own from env and mounted files
        *(
            Check(v, "secrets", ns, expect=False)
            for v in ("get", "list", "watch", "create")
            for ns in (release_ns, other_ns)
        ),
        Check("list", "secrets", all_namespaces=True, expect=False),
        Check("get", "secrets", release_ns, name="kasset-ui-token", expect=False),
        # no RBAC or CRD changes (no privilege escalation, no schema tampering)
        Check("create", "clusterroles.rbac.authorization.k8s.io", expect=False),
        Check("create", "clusterrolebindings.rbac.authorization.k8s.io", expect=False),
        Check("create", "roles.rbac.authorization.k8s.io", release_ns, expect=False),
        Check("create", "rolebindings.rbac.authorization.k8s.io", other_ns, expect=False),
        Check("delete", "customresourcedefinitions.apiextensions.k8s.io", expect=False),
        Check("create", "customresourcedefinitions.apiextensions.k8s.io", expect=False),
        Check("update", "customresourcedefinitions.apiextensions.k8s.io", expect=False),
        # read-only CRD observation for kopf
        Check("watch", "customresourcedefinitions.apiextensions.k8s.io", expect=True),
        # no namespaces, nodes, workloads, exec, or other leases
        Check("list", "namespaces", expect=False),
        Check("delete", "namespaces", expect=False),
        Check("delete", "nodes", expect=False),
        Check("create", "deployments.apps", release_ns, expect=False),
        Check("create", "pods/exec", other_ns, expect=False),
        Check("create", "pods/exec", release_ns, expect=False),
        Check("create", "serviceaccounts/token", release_ns, expect=False),
        Check("impersonate", "serviceaccounts", release_ns, expect=False),
        Check("get", "configmaps", release_ns, expect=False),
        Check("get", "persistentvolumeclaims", release_ns, expect=False),
        # leader election: its own Lease, in its own namespace only
        Check("get", "leases.coordination.k8s.io", release_ns, name=LEASE, expect=True),
        Check("update", "leases.coordination.k8s.io", release_ns, name=LEASE, expect=True),
        Check("create", "leases.coordination.k8s.io", release_ns, expect=True),
        Check("update", "leases.coordination.k8s.io", release_ns, name="other", expect=False),
        Check("delete", "leases.coordination.k8s.io", release_ns, name=LEASE, expect=False),
        Check("list", "leases.coordination.k8s.io", release_ns, expect=False),
        Check("get", "leases.coordination.k8s.io", other_ns, name=LEASE, expect=False),
        Check("create", "leases.coordination.k8s.io", other_ns, expect=False),
        Check("update", "leases.coordination.k8s.io", "kube-system", name=LEASE, expect=False),
    ]
    return out


def _workload_checks(ns: str, allowed: bool, pod_patch: bool) -> list[Check]:
    return [
        Check("create", "pods", ns, expect=allowed),
        Check("delete", "pods", ns, expect=allowed),
        Check("watch", "pods", ns, expect=allowed),
        Check("patch", "pods", ns, expect=pod_patch),
        Check("get", "pods/log", ns, expect=allowed),
        Check("create", "events", ns, expect=allowed),
        Check("create", "events.events.k8s.io", ns, expect=allowed),
        Check("watch", "assetgraphs.kasset.io", ns, expect=allowed),
        Check("create", "materializations.kasset.io", ns, expect=allowed),
        Check("delete", "materializations.kasset.io", ns, expect=allowed),
        Check("update", "materializations.kasset.io", ns, expect=False),
        Check("patch", "materializations.kasset.io/status", ns, expect=allowed),
        Check("update", "assets.kasset.io", ns, expect=allowed),
        Check("update", "assets.kasset.io/status", ns, expect=allowed),
        Check("delete", "assetgraphs.kasset.io/status", ns, expect=False),
        Check("deletecollection", "pods", ns, expect=False),
    ]


def _assert_matrix(kube: Kube, release_ns: str, checks: list[Check]) -> None:
    results = can_i_matrix(checks, namespace=release_ns, service_account=SA, env=kube.env)
    bad = mismatches(results)
    assert not bad, "\n".join(bad) + "\n\n" + format_matrix(results)


def test_cluster_mode_least_privilege(chart_kube: Kube, uninstall: list[str]) -> None:
    ns, other = chart_kube.new_namespace(), chart_kube.new_namespace("kasset-other")
    _install(chart_kube, ns)
    uninstall.append(ns)
    checks = [
        *_common_denials(ns, other),
        *_workload_checks(other, allowed=True, pod_patch=True),
        *_workload_checks(ns, allowed=True, pod_patch=True),
        Check("list", "pods", all_namespaces=True, expect=True),
        Check("list", "materializations.kasset.io", all_namespaces=True, expect=True),
    ]
    _assert_matrix(chart_kube, ns, checks)


def test_namespaced_mode_least_privilege(chart_kube: Kube, uninstall: list[str]) -> None:
    ns = chart_kube.new_namespace()
    w1, w2 = chart_kube.new_namespace("kasset-team"), chart_kube.new_namespace("kasset-team")
    other = chart_kube.new_namespace("kasset-other")
    _install(chart_kube, ns, "rbac.scope=namespaced", f"rbac.watchNamespaces={{{w1},{w2}}}")
    uninstall.append(ns)
    checks = [
        *_common_denials(ns, other),
        *_workload_checks(w1, allowed=True, pod_patch=False),
        *_workload_checks(w2, allowed=True, pod_patch=False),
        *_workload_checks(other, allowed=False, pod_patch=False),
        # the release namespace is not watched: only its own pod's leader label and Events
        Check("create", "pods", ns, expect=False),
        Check("patch", "pods", ns, expect=True),
        Check("get", "pods", ns, expect=True),
        Check("list", "pods", ns, expect=False),
        Check("create", "materializations.kasset.io", ns, expect=False),
        Check("create", "events", ns, expect=True),
        # nothing across all namespaces
        Check("list", "pods", all_namespaces=True, expect=False),
        Check("list", "materializations.kasset.io", all_namespaces=True, expect=False),
        Check("create", "events", all_namespaces=True, expect=False),
    ]
    _assert_matrix(chart_kube, ns, checks)


def test_namespaced_mode_defaults_to_the_release_namespace(
    chart_kube: Kube, uninstall: list[str]
) -> None:
    ns, other = chart_kube.new_namespace(), chart_kube.new_namespace("kasset-other")
    _install(chart_kube, ns, "rbac.scope=namespaced")
    uninstall.append(ns)
    checks = [
        *_workload_checks(other, allowed=False, pod_patch=False),
        Check("create", "pods", ns, expect=True),
        Check("patch", "pods", ns, expect=True),  # from the leader Role
        Check("create", "materializations.kasset.io", ns, expect=True),
        Check("get", "secrets", ns, expect=False),
    ]
    _assert_matrix(chart_kube, ns, checks)
    # `kubectl auth can-i` gives the same answers for resources it can map without CRDs
    core = [c for c in checks if "kasset.io" not in c.resource]
    via_can_i = can_i_matrix(
        core, namespace=ns, service_account=SA, env=chart_kube.env, method="can-i"
    )
    via_sar = can_i_matrix(core, namespace=ns, service_account=SA, env=chart_kube.env)
    assert via_can_i == via_sar
