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
    install_crds,
    restrict_namespace,
)

FOREIGN_WAIT_S = float(os.environ.get("KASSET_E2E_FOREIGN_WAIT", "300"))


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
