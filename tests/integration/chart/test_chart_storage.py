"""Storage for asset values on the API server: the hostPath volume binds to the claim
(single-node clusters without a provisioner), and both survive `helm uninstall`."""

from __future__ import annotations

import pytest
from chartkube import CHART, Kube, wait_until

pytestmark = pytest.mark.control_plane


def test_hostpath_volume_binds_and_is_kept(chart_kube: Kube) -> None:
    kube = chart_kube
    ns = kube.new_namespace()
    pv = f"kasset-{ns}-storage"
    install = (
        "install",
        "kasset",
        str(CHART),
        "-n",
        ns,
        "--set",
        "replicas=0",
        "--set",
        f"storage.hostPath=/var/lib/kasset-chart-test/{ns}",
        "--set",
        "storage.storageClassName=",
        "--set",
        "storage.size=1Gi",
        "--set",
        "storage.accessModes={ReadWriteOnce}",
    )
    try:
        kube.helm(*install)
        wait_until(
            "the claim to bind",
            lambda: kube.get("pvc", "kasset-storage", ns)["status"].get("phase") == "Bound",
            timeout=60,
        )
        assert kube.get("pv", pv)["spec"]["claimRef"]["name"] == "kasset-storage"
        out = kube.helm("uninstall", "kasset", "-n", ns, "--wait")
        assert "kasset-storage" in out and pv in out
        assert kube.get("pvc", "kasset-storage", ns)["status"]["phase"] == "Bound"
        # a reinstall adopts both and the claim stays bound to the same volume
        kube.helm(*install)
        assert kube.get("pvc", "kasset-storage", ns)["spec"]["volumeName"] == pv
    finally:
        kube.helm("uninstall", "kasset", "-n", ns, "--wait", check=False)
        kube.kubectl(
            "delete",
            "pvc",
            "kasset-storage",
            "-n",
            ns,
            "--ignore-not-found",
            "--wait=false",
            check=False,
        )
        kube.kubectl("delete", "pv", pv, "--ignore-not-found", "--wait=false", check=False)
