"""`helm install`, `helm upgrade` and `helm uninstall` on the local cluster.

The lifecycle test checks the objects (secrets kept across upgrades, nothing but the kept
storage claim left after uninstall, reinstall adopting that claim). The operator test runs
the real image (hack/build-image --load, or $KASSET_IMAGE) and checks leader election as
the chart wires it: two ready replicas, one labelled leader, the Service pointing at it.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from chartkube import CHART, REPO, CommandError, Kube, wait_until

RELEASE = "kasset"
INSTANCE = f"app.kubernetes.io/instance={RELEASE}"
# Everything the chart creates in the release namespace; the storage claim is kept on purpose.
NAMESPACED_KINDS = [
    "deployments.apps",
    "replicasets.apps",
    "services",
    "serviceaccounts",
    "secrets",
    "roles.rbac.authorization.k8s.io",
    "rolebindings.rbac.authorization.k8s.io",
    "poddisruptionbudgets.policy",
    "leases.coordination.k8s.io",
    "configmaps",
    "ingresses.networking.k8s.io",
]


@pytest.fixture(scope="session")
def operator_image() -> str | None:
    """The operator image in the cluster: $KASSET_IMAGE, or built and loaded with
    hack/build-image --load when that script exists; None otherwise."""
    if os.environ.get("KASSET_IMAGE"):
        return os.environ["KASSET_IMAGE"]
    script = REPO / "hack/build-image"
    if not script.exists():
        return None
    proc = subprocess.run(
        [str(script), "--load"], capture_output=True, text=True, timeout=1800, check=False
    )
    assert proc.returncode == 0, f"hack/build-image --load failed:\n{proc.stderr[-4000:]}"
    return proc.stdout.strip().splitlines()[-1]


def _image_sets(image: str) -> list[str]:
    repo, _, tag = image.rpartition(":")
    return ["--set", f"image.repository={repo}", "--set", f"image.tag={tag}"]


@pytest.fixture
def release_ns(chart_kube: Kube) -> Iterator[str]:
    ns = chart_kube.new_namespace()
    yield ns
    chart_kube.helm(
        "uninstall", RELEASE, "--namespace", ns, "--wait", "--ignore-not-found", check=False
    )
    chart_kube.kubectl("delete", "pvc", "--all", "-n", ns, "--wait=false", check=False)


def _leftovers(kube: Kube, ns: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for kind in NAMESPACED_KINDS:
        names = kube.kubectl("get", kind, "-n", ns, "-l", INSTANCE, "-o", "name").split()
        if names:
            out[kind] = names
    # by name too: an operator that rewrites the Lease's metadata would drop the labels
    # (and Helm's ownership annotations, so that uninstall skips it and a reinstall fails)
    if kube.exists("lease", "kasset-operator", ns):
        out.setdefault("leases.coordination.k8s.io", []).append("lease/kasset-operator")
    for kind in (
        "clusterroles.rbac.authorization.k8s.io",
        "clusterrolebindings.rbac.authorization.k8s.io",
    ):
        names = [
            n
            for n in kube.kubectl("get", kind, "-l", INSTANCE, "-o", "name").split()
            if n.endswith(f"-{ns}")
        ]
        if names:
            out[kind] = names
    return out


def _secret(kube: Kube, ns: str, name: str, key: str) -> str:
    data = kube.get("secret", name, ns)["data"]
    return base64.b64decode(data[key]).decode()


@pytest.mark.control_plane
def test_install_upgrade_uninstall(chart_kube: Kube, release_ns: str) -> None:
    kube, ns = chart_kube, release_ns
    # The objects are what this test is about (replicas=0: no image needed, no kubelet);
    # test_operator_runs_under_the_chart does the same lifecycle with the operator running.
    image_args = ["--set", "replicas=0"]
    t0 = time.monotonic()
    kube.helm("install", RELEASE, str(CHART), "--namespace", ns, *image_args)
    install_seconds = time.monotonic() - t0
    print(f"\nhelm install (no --wait): {install_seconds:.2f}s")

    status = json.loads(kube.helm("status", RELEASE, "-n", ns, "-o", "json"))
    assert status["info"]["status"] == "deployed" and status["version"] == 1
    for kind, name in [
        ("deployment", RELEASE),
        ("serviceaccount", RELEASE),
        ("service", RELEASE),
        ("service", f"{RELEASE}-metrics"),
        ("secret", f"{RELEASE}-events"),
        ("secret", f"{RELEASE}-ui-token"),
        ("pvc", f"{RELEASE}-storage"),
        ("role", f"{RELEASE}-leader"),
        ("rolebinding", f"{RELEASE}-leader"),
        ("lease", "kasset-operator"),
    ]:
        assert kube.exists(kind, name, ns), f"{kind}/{name} missing"
    assert kube.exists("clusterrole", f"{RELEASE}-{ns}")
    assert kube.exists("clusterrolebinding", f"{RELEASE}-{ns}")
    event_secret = _secret(kube, ns, f"{RELEASE}-events", "secret")
    ui_token = _secret(kube, ns, f"{RELEASE}-ui-token", "token")
    assert len(event_secret) == 48 and len(ui_token) == 48

    # upgrade: a changed value reaches the Deployment; generated secrets stay the same
    kube.helm(
        "upgrade",
        RELEASE,
        str(CHART),
        "--namespace",
        ns,
        "--reuse-values",
        "--set",
        "operator.maxRunning=7",
    )
    dep = kube.get("deployment", RELEASE, ns)
    args = dep["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--max-running") + 1] == "7"
    assert _secret(kube, ns, f"{RELEASE}-events", "secret") == event_secret
    assert _secret(kube, ns, f"{RELEASE}-ui-token", "token") == ui_token
    status = json.loads(kube.helm("status", RELEASE, "-n", ns, "-o", "json"))
    assert status["version"] == 2

    # uninstall: no operator object is left; the storage claim is kept (resource-policy)
    out = kube.helm("uninstall", RELEASE, "--namespace", ns, "--wait")
    assert "kasset-storage" in out  # helm names the kept resources
    wait_until("operator objects deleted", lambda: not _leftovers(kube, ns), timeout=120)
    assert kube.exists("pvc", f"{RELEASE}-storage", ns), "the storage claim must survive"
    assert kube.helm("list", "-n", ns, "-q").strip() == ""

    # a new install adopts the kept claim (same release name and namespace)
    kube.helm("install", RELEASE, str(CHART), "--namespace", ns, *image_args)
    assert kube.exists("deployment", RELEASE, ns)
    # new release, new secrets
    assert _secret(kube, ns, f"{RELEASE}-events", "secret") != event_secret


@pytest.mark.control_plane
def test_upgrade_switches_rbac_mode(chart_kube: Kube, release_ns: str) -> None:
    """cluster -> namespaced -> cluster: stale Roles and ClusterRole rules are removed."""
    kube, ns = chart_kube, release_ns
    watched = kube.new_namespace("kasset-team")
    kube.helm("install", RELEASE, str(CHART), "-n", ns, "--set", "replicas=0")
    kube.helm(
        "upgrade",
        RELEASE,
        str(CHART),
        "-n",
        ns,
        "--reuse-values",
        "--set",
        "rbac.scope=namespaced",
        "--set",
        f"rbac.watchNamespaces={{{watched}}}",
    )
    assert kube.exists("role", RELEASE, watched)
    rules = kube.get("clusterrole", f"{RELEASE}-{ns}")["rules"]
    assert [r["resources"] for r in rules] == [["customresourcedefinitions"]]
    dep = kube.get("deployment", RELEASE, ns)
    args = dep["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--namespace") + 1] == watched
    kube.helm(
        "upgrade",
        RELEASE,
        str(CHART),
        "-n",
        ns,
        "--reuse-values",
        "--set",
        "rbac.scope=cluster",
        "--set-json",
        "rbac.watchNamespaces=[]",
    )
    assert not kube.exists("role", RELEASE, watched)
    rules = kube.get("clusterrole", f"{RELEASE}-{ns}")["rules"]
    assert any("pods" in r["resources"] for r in rules)


def _pods(kube: Kube, ns: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = kube.get("pods", namespace=ns, selector=INSTANCE)["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def _ready(pod: dict[str, Any]) -> bool:
    return any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in pod.get("status", {}).get("conditions", [])
    )


def _leaders(kube: Kube, ns: str) -> list[str]:
    return kube.kubectl(
        "get",
        "pods",
        "-n",
        ns,
        "-l",
        f"{INSTANCE},kasset.io/role=leader",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ).split()


def _service_endpoints(kube: Kube, ns: str) -> list[str]:
    slices = kube.get(
        "endpointslices.discovery.k8s.io",
        namespace=ns,
        selector=f"kubernetes.io/service-name={RELEASE}",
    )["items"]
    return sorted(
        e["targetRef"]["name"]
        for s in slices
        for e in s.get("endpoints") or []
        if e.get("conditions", {}).get("ready") and e.get("targetRef")
    )


@pytest.mark.cluster
def test_operator_runs_under_the_chart(
    full_cluster: Kube, release_ns: str, request: pytest.FixtureRequest
) -> None:
    if not (REPO / "src/kasset/operator/process/main.py").exists():
        pytest.skip("the operator (kasset.operator.process.main) is not written yet")
    operator_image = request.getfixturevalue("operator_image")
    if operator_image is None:
        pytest.skip("no operator image (hack/build-image missing and $KASSET_IMAGE unset)")
    kube, ns = full_cluster, release_ns
    pv = f"{RELEASE}-{ns}-storage"
    request.addfinalizer(
        lambda: kube.kubectl("delete", "pv", pv, "--ignore-not-found", "--wait=false", check=False)
    )
    storage = [
        "--set", f"storage.hostPath=/var/lib/kasset-chart-test/{ns}",
        "--set", "storage.storageClassName=",
        "--set", "storage.accessModes={ReadWriteOnce}",
        "--set", "storage.size=1Gi",
    ]  # fmt: skip
    t0 = time.monotonic()
    try:
        kube.helm(
            "install",
            RELEASE,
            str(CHART),
            "--namespace",
            ns,
            *_image_sets(operator_image),
            # `--wait` waits for the claim to bind too: a hostPath volume binds without a
            # provisioner (hack/cluster has none)
            *storage,
            "--wait",
            "--timeout",
            "5m",
            timeout=400,
        )
    except CommandError:
        print(kube.kubectl("get", "pods,events", "-n", ns, "-o", "wide", check=False))
        print(
            kube.kubectl(
                "logs",
                "-n",
                ns,
                "-l",
                INSTANCE,
                "--tail=50",
                "--all-containers",
                "--prefix",
                check=False,
            )
        )
        raise
    print(f"\nhelm install --wait (2 replicas ready): {time.monotonic() - t0:.2f}s")

    pods = _pods(kube, ns)
    assert len(pods) == 2 and all(_ready(p) for p in pods)
    wait_until("exactly one leader", lambda: len(_leaders(kube, ns)) == 1, timeout=60)
    leader = _leaders(kube, ns)[0]
    lease = kube.get("lease", "kasset-operator", ns)
    assert lease["spec"]["holderIdentity"] == leader
    wait_until(
        "the Service to select the leader only",
        lambda: _service_endpoints(kube, ns) == [leader],
        timeout=60,
    )
    # the running pod has the restricted settings the chart asked for
    pod = next(p for p in pods if p["metadata"]["name"] == leader)
    assert pod["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    # readiness and health through the API server's service proxy (-> the leader)
    for path in ("healthz", "readyz"):
        proxy = f"/api/v1/namespaces/{ns}/services/http:{RELEASE}:http/proxy/{path}"
        kube.kubectl("get", "--raw", proxy)

    # failover: delete the leader; the standby takes the Lease and the Service follows
    t1 = time.monotonic()
    kube.kubectl("delete", "pod", leader, "-n", ns, "--wait=false")
    new_leader = wait_until(
        "a new leader", lambda: [n for n in _leaders(kube, ns) if n != leader][:1], timeout=90
    )[0]
    wait_until(
        "the Service to follow the new leader",
        lambda: _service_endpoints(kube, ns) == [new_leader],
        timeout=60,
    )
    print(f"failover (leader deleted -> Service on the new leader): {time.monotonic() - t1:.2f}s")

    # a rolling upgrade keeps a ready replica throughout (maxUnavailable 0)
    kube.helm(
        "upgrade",
        RELEASE,
        str(CHART),
        "--namespace",
        ns,
        "--reuse-values",
        "--set",
        "operator.maxRunning=5",
        "--wait",
        "--timeout",
        "5m",
        timeout=400,
    )
    assert len([p for p in _pods(kube, ns) if _ready(p)]) >= 2

    lease = kube.get("lease", "kasset-operator", ns)
    assert (lease["metadata"].get("annotations") or {}).get(
        "meta.helm.sh/release-name"
    ) == RELEASE, "the operator must keep the Lease's labels and annotations when it updates it"
    out = kube.helm("uninstall", RELEASE, "--namespace", ns, "--wait", timeout=300)
    assert "not owned by this release" not in out
    wait_until(
        "operator objects and pods deleted",
        lambda: not _leftovers(kube, ns) and not _pods(kube, ns),
        timeout=120,
    )
