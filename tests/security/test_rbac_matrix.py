"""No Kubernetes API access for step pods. The operator's own least privilege in both chart
modes is tested by tests/integration/chart/test_chart_rbac.py (same `rbac` helper); this
adds the step pods' side: the ServiceAccount they run as (`default`) may do nothing, and no
token is mounted (tests/security/test_pod_security.py and test_user_code_failures.py check
the file inside real pods)."""

from __future__ import annotations

import pytest
from rbac import Check, can_i_matrix, format_matrix, mismatches
from test_pod_security import step_pod

from kube import Kube

pytestmark = pytest.mark.control_plane

RESOURCES = [
    "pods",
    "pods/log",
    "pods/exec",
    "secrets",
    "configmaps",
    "serviceaccounts/token",
    "events",
    "assetgraphs.kasset.io",
    "materializations.kasset.io",
    "assets.kasset.io",
    "materializations.kasset.io/status",
    "leases.coordination.k8s.io",
    "jobs.batch",
    "roles.rbac.authorization.k8s.io",
    "rolebindings.rbac.authorization.k8s.io",
]


def test_the_step_pods_service_account_can_do_nothing(kube: Kube, namespace: str) -> None:
    pod = step_pod(namespace)
    sa = pod["spec"].get("serviceAccountName") or "default"
    assert pod["spec"]["automountServiceAccountToken"] is False
    checks = [
        Check(verb, resource, namespace, expect=False)
        for resource in RESOURCES
        for verb in ("get", "list", "create", "delete")
        if not (resource.endswith("/exec") or resource.endswith("/token")) or verb == "create"
    ]
    checks += [
        Check("list", "namespaces", expect=False),
        Check("list", "pods", all_namespaces=True, expect=False),
        Check("list", "secrets", all_namespaces=True, expect=False),
        Check("escalate", "roles.rbac.authorization.k8s.io", namespace, expect=False),
        Check("bind", "clusterroles.rbac.authorization.k8s.io", expect=False),
        Check("impersonate", "serviceaccounts", namespace, expect=False),
    ]
    results = can_i_matrix(
        checks,
        namespace=namespace,
        service_account=sa,
        env={"KUBECONFIG": kube.kubeconfig, "PATH": "/usr/bin:/bin"},
        kubectl=kube.kubectl_bin,
    )
    print(
        f"\nstep pod ServiceAccount {namespace}/{sa}: {len(results)} checks, "
        f"{sum(results.values())} allowed"
    )
    bad = mismatches(results)
    assert not bad, "\n".join(bad) + "\n\n" + format_matrix(results)
