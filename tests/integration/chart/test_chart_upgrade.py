"""Upgrading from the previous release's chart with runs in flight (issue 17), the way the
chart README says: apply the new chart's CRDs, then `helm upgrade`.

The previous chart is `main`'s `charts/kasset` (git archive). Both releases run the e2e
image (the operator and the test projects), so what changes across the upgrade is the
chart and the CRDs: the run started under the old release is finished by the new one,
whose step-pod defaults (a value the old chart did not have) reach the pods it launches.
"""

from __future__ import annotations

import calendar
import json
import os
import subprocess
import tarfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from chartkube import CHART, REPO, Kube, hostpath_release, wait_until

from kasset import naming
from operator_harness import compile_graph, e2e_image, install_crds, materialization

RELEASE = "kasset"
# The chart users run today: the last landed commit before issue 17's chart changes (move
# it forward when a release is cut).
PREVIOUS_REF = os.environ.get(
    "KASSET_PREVIOUS_CHART_REF", "ac15e2427634833b282d8e0b2108ff82ede0d4b0"
)

pytestmark = pytest.mark.cluster


def _previous_chart(tmp: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", PREVIOUS_REF, "charts/kasset"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(tmp, filter="data")
    return tmp / "charts" / "kasset"


def _values(image: str, ns: str, volume: Path) -> list[str]:
    repo, _, tag = image.rpartition(":")
    return [
        "--set", f"image.repository={repo}",
        "--set", f"image.tag={tag}",
        "--set", "image.pullPolicy=Never",
        # watch only this namespace: other tests' runs on the shared cluster are not ours
        "--set", "rbac.scope=namespaced",
        "--set", f"storage.hostPath={volume}",
        "--set", "storage.storageClassName=",
        "--set", "storage.accessModes={ReadWriteOnce}",
        "--set", "storage.size=1Gi",
    ]  # fmt: skip


def _status(kube: Kube, ns: str, run: str) -> dict[str, Any]:
    status: dict[str, Any] = kube.get("materialization", run, ns).get("status") or {}
    return status


def _asset_pods(kube: Kube, ns: str, asset: str) -> list[dict[str, Any]]:
    selector = f"kasset.io/asset={naming.label_value(asset)}"
    items: list[dict[str, Any]] = kube.get("pods", namespace=ns, selector=selector)["items"]
    return items


def test_upgrading_from_the_previous_chart_keeps_runs_in_flight(
    full_cluster: Kube, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    kube = full_cluster
    image = e2e_image()
    ns = kube.new_namespace("kasset-upgrade")
    volume = hostpath_release(kube, RELEASE, ns, request.addfinalizer)
    values = _values(image, ns, volume)
    previous = _previous_chart(tmp_path)
    # A user of the previous release has its CRDs; the cluster gets today's back at the end
    # whatever happens (the other tests share them).
    request.addfinalizer(lambda: install_crds(kube))
    old_crds = kube.helm("show", "crds", str(previous))
    kube.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=old_crds)
    kube.helm(
        "install", RELEASE, str(previous), "-n", ns, "--skip-crds", *values,
        "--wait", "--timeout", "5m",
    )  # fmt: skip

    graph = compile_graph("e2e_projects.long", "defs", image=image, name="long", namespace=ns)
    graph["spec"]["imagePullPolicy"] = "Never"
    graph["spec"].pop("storage", None)  # the release's claim, as a user's graph would
    kube.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(graph))
    run = materialization("in-flight", "long", ns)
    kube.kubectl("create", "-f", "-", input=json.dumps(run))
    wait_until(
        "the old release's operator running the first step",
        lambda: _status(kube, ns, "in-flight").get("counts", {}).get("running") == 1,
        timeout=180,
    )
    (old_pod,) = _asset_pods(kube, ns, "long_running")

    # the upgrade path of the chart README: CRDs first, then the release
    t0 = time.monotonic()
    crds = kube.helm("show", "crds", str(CHART))
    kube.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=crds)
    kube.helm(
        "upgrade", RELEASE, str(CHART), "-n", ns, *values,
        "--set", "stepPods.labels.kasset-test/upgraded=yes",
        "--wait", "--timeout", "5m",
    )  # fmt: skip
    print(f"\nCRDs applied and helm upgrade --wait: {time.monotonic() - t0:.1f}s")
    upgraded_at = time.time()
    # still in flight: the step the old operator launched is running under the new one
    assert _status(kube, ns, "in-flight").get("counts", {}).get("running") == 1

    final = wait_until(
        "the run to finish under the new release",
        lambda: (s := _status(kube, ns, "in-flight")).get("phase") in {"Succeeded", "Failed"} and s,
        timeout=300,
        interval=2,
    )
    assert final["phase"] == "Succeeded", final
    assert final["counts"]["succeeded"] == 2
    # the first step kept its one pod (no relaunch); the second was launched by the new
    # operator with the new chart's step-pod defaults
    (first,) = _asset_pods(kube, ns, "long_running")
    assert first["metadata"]["uid"] == old_pod["metadata"]["uid"]
    assert "kasset-test/upgraded" not in first["metadata"]["labels"]
    (after,) = _asset_pods(kube, ns, "after_long")
    assert after["metadata"]["labels"]["kasset-test/upgraded"] == "yes"
    created = after["metadata"]["creationTimestamp"]
    assert calendar.timegm(time.strptime(created, "%Y-%m-%dT%H:%M:%SZ")) >= int(upgraded_at) - 1
    # the new CRDs are in place: the Asset short name works, and the Assets say Fresh
    crd = kube.get("crd", "assets.kasset.io")
    assert "kas" in crd["spec"]["names"].get("shortNames", [])
    assets = kube.get("kas", namespace=ns)["items"]
    assert {a["spec"]["key"]: a["status"]["health"] for a in assets} == {
        "long_running": "Fresh",
        "after_long": "Fresh",
    }
