"""Fixtures of the security and bad-input tests (issue 8). Helpers from tests/ (kube,
operator_harness) and tests/integration/chart (rbac, the helm binary) are importable."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
for extra in (TESTS, TESTS / "integration" / "chart", Path(__file__).resolve().parent):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

sys.path.insert(0, str(TESTS / "e2e" / "operator"))

from collections.abc import Iterator  # noqa: E402
from contextlib import ExitStack  # noqa: E402

import pytest  # noqa: E402
from e2e_world import E2E  # noqa: E402

from kube import Kube  # noqa: E402
from operator_harness import (  # noqa: E402
    HostPathStorage,
    install_crds,
    restrict_namespace,
)


@pytest.fixture
def world(
    kube: Kube, namespace: str, test_image: str, request: pytest.FixtureRequest
) -> Iterator[E2E]:
    """A Pod Security `restricted` namespace with hostPath storage; start the operator
    with `world.start_operator()`. Diagnostics are printed when the test fails."""
    install_crds(kube)
    restrict_namespace(kube, namespace)
    storage = HostPathStorage(kube, namespace)
    with ExitStack() as stack:
        stack.callback(storage.delete)
        storage.create()
        w = E2E(kube, namespace, test_image, storage, stack, request.node.name)
        try:
            yield w
        except BaseException:
            print(f"\n===== diagnostics of {namespace} =====\n{w.diagnose()}")
            raise
