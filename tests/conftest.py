"""Top-level pytest fixtures: a real Kubernetes cluster for tests that need one.

* ``kube`` (session): if ``KUBECONFIG`` is set, that cluster is used as is (kind, cloud, ...)
  and nothing is ever started or stopped. Otherwise the local cluster is brought up with
  ``hack/cluster up`` -- the full tier if any collected test is marked ``cluster``, else
  ``--control-plane-only`` -- and **left running at session end** so the next session reuses
  it in seconds (stop it explicitly with ``hack/cluster down``). ``KUBECONFIG`` is exported
  for the session so subprocesses and the Python kubernetes client see the same cluster.
* ``namespace`` (function): a fresh namespace labelled ``kasset.io/test=true``, deleted
  after the test (without waiting for the deletion to finish).

Markers: ``cluster`` (needs real pods/kubelet), ``control_plane`` (API server is enough).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kube import (
    HACK_CLUSTER,
    Kube,
    KubectlError,
    find_kubectl,
    local_kubeconfig,
    wait_until,
)

TEST_NAMESPACE_LABEL = "kasset.io/test"
UP_TIMEOUT_S = 3600  # first run builds Kubernetes from source


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cluster: needs a real cluster with a kubelet (real pods)")
    config.addinivalue_line("markers", "control_plane: needs a real API server only")


def _needed_tier(session: pytest.Session) -> str:
    items = getattr(session, "items", [])
    if any(item.get_closest_marker("cluster") for item in items):
        return "full"
    return "control-plane"


def _can_run_local() -> bool:
    return sys.platform == "linux" and os.geteuid() == 0


def _run_up(tier: str) -> subprocess.CompletedProcess[str]:
    args = [str(HACK_CLUSTER), "up"] + (["--control-plane-only"] if tier == "control-plane" else [])
    try:
        return subprocess.run(
            args, capture_output=True, text=True, timeout=UP_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        return subprocess.CompletedProcess(args, 124, "", f"timed out after {exc.timeout}s")


_UP_RESULT = pytest.StashKey[subprocess.CompletedProcess[str]]()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Bring the local cluster up once, before any test runs.

    Done here rather than in the fixture so that the first, slow run (it builds Kubernetes)
    does not count against a single test's pytest-timeout.
    """
    if session.config.option.collectonly or os.environ.get("KUBECONFIG") or not _can_run_local():
        return
    if not any("kube" in getattr(item, "fixturenames", ()) for item in session.items):
        return
    tier = _needed_tier(session)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"kasset: hack/cluster up ({tier} tier; the first run builds it) ...")
    session.config.stash[_UP_RESULT] = _run_up(tier)


def _bring_up_local(request: pytest.FixtureRequest) -> None:
    if not _can_run_local():
        pytest.skip(
            "the local cluster (hack/cluster) needs root on Linux; "
            "set KUBECONFIG to run cluster tests against another cluster"
        )
    proc = request.config.stash.get(_UP_RESULT, None) or _run_up(_needed_tier(request.session))
    if proc.returncode != 0:
        pytest.fail(
            f"`{' '.join(map(str, proc.args))}` failed ({proc.returncode}); "
            f"logs in /var/lib/kasset-cluster/logs\n{proc.stderr[-4000:]}",
            pytrace=False,
        )


def _local_tier() -> str:
    try:
        return (local_kubeconfig().parent / "tier").read_text().strip() or "unknown"
    except OSError:
        return "unknown"


@pytest.fixture(scope="session")
def kube(request: pytest.FixtureRequest) -> Iterator[Kube]:
    external = os.environ.get("KUBECONFIG")
    if external and Path(external).resolve() != local_kubeconfig().resolve():
        k = Kube(kubeconfig=external, local=False, tier="external", kubectl_bin=find_kubectl(False))
    else:
        # KUBECONFIG unset, or pointing at the local cluster (after `eval $(hack/cluster env)`):
        # in the latter case nothing is started, we only learn the running tier.
        if not external:
            _bring_up_local(request)
        k = Kube(
            kubeconfig=str(local_kubeconfig()),
            local=True,
            tier=_local_tier(),
            kubectl_bin=find_kubectl(True),
        )
        # Deliberately not stopped at session end: the cluster is reused by the next session.
        os.environ["KUBECONFIG"] = k.kubeconfig
    k.kubectl("get", "--raw", "/readyz")
    yield k


@pytest.fixture
def namespace(kube: Kube, request: pytest.FixtureRequest) -> Iterator[str]:
    base = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")
    base = base.removeprefix("test-")[:40].strip("-") or "ns"
    name = f"t-{base}-{secrets.token_hex(3)}"
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {TEST_NAMESPACE_LABEL: "true"}},
        }
    )
    # Pods are rejected until the namespace's default ServiceAccount exists.
    wait_until(
        lambda: (
            kube.kubectl("get", "serviceaccount", "default", "-n", name, check=False).returncode
            == 0
        ),
        60,
        f"default service account in {name}",
    )
    try:
        yield name
    finally:
        with contextlib.suppress(KubectlError, subprocess.TimeoutExpired):
            kube.kubectl(
                "delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False
            )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keeps each phase's report on the test item (`item.rep_call`), so fixtures can print
    an operator's log when the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def test_image(kube: Kube) -> str:
    """The image step pods of the end-to-end tests run: kasset + examples + test projects
    (hack/e2e-image), built and loaded once per session."""
    import time

    from operator_harness import e2e_image, install_crds

    if not kube.local and not os.environ.get("KASSET_E2E_IMAGE"):
        pytest.skip("needs the local cluster (hack/e2e-image) or $KASSET_E2E_IMAGE")
    if kube.tier not in ("full", "external"):
        pytest.skip(f"needs real pods; the local cluster runs the {kube.tier} tier")
    install_crds(kube)
    started = time.monotonic()
    image = e2e_image()
    print(f"\ntest image {image} ready in {time.monotonic() - started:.1f}s")
    return image
