"""Fixtures of the reliability tests: the e2e test image, and per test a namespace under
Pod Security `restricted` with hostPath storage (tests/operator_harness.py) and an `E2E`
world (tests/e2e/operator/e2e_world.py) whose operators the test starts itself."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parents[1]
for extra in (TESTS, TESTS / "e2e" / "operator", Path(__file__).resolve().parent):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from harness import World  # noqa: E402

from kube import Kube  # noqa: E402
from operator_harness import (  # noqa: E402
    HostPathStorage,
    cluster_wide_operators,
    e2e_image,
    install_crds,
    restrict_namespace,
)

FOREIGN_WAIT_S = float(os.environ.get("KASSET_E2E_FOREIGN_WAIT", "300"))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def test_image(kube: Kube) -> str:
    if not kube.local and not os.environ.get("KASSET_E2E_IMAGE"):
        pytest.skip("needs the local cluster (hack/e2e-image) or $KASSET_E2E_IMAGE")
    if kube.tier not in ("full", "external"):
        pytest.skip(f"needs real pods; the local cluster runs the {kube.tier} tier")
    install_crds(kube)
    return e2e_image()


@pytest.fixture
def world(
    kube: Kube, namespace: str, test_image: str, request: pytest.FixtureRequest
) -> Iterator[World]:
    found = cluster_wide_operators(kube)
    deadline = time.monotonic() + FOREIGN_WAIT_S
    while found and time.monotonic() < deadline:
        time.sleep(5)
        found = cluster_wide_operators(kube)
    if found:
        pytest.fail(f"cluster-wide kasset operators would act on our runs: {found}", pytrace=False)
    install_crds(kube)
    restrict_namespace(kube, namespace)
    storage = HostPathStorage(kube, namespace)
    with ExitStack() as stack:
        stack.callback(storage.delete)
        storage.create()
        w = World(kube, namespace, test_image, storage, stack, request.node.name)
        w.runners = []
        try:
            yield w
        finally:
            report = getattr(request.node, "rep_call", None)
            if report is None or report.failed:
                print(f"\n===== diagnostics of {namespace} =====\n{w.diagnose()}")
