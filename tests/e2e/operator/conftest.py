"""Fixtures of the operator end-to-end tests: the test image (built and loaded once per
session), and per test a namespace under Pod Security `restricted` with hostPath storage
and a `kasset operator` host process watching it (log under artifacts/e2e-operator/,
printed when the test fails).

The cluster is shared: before each test the CRDs are applied again (a `hack/cluster
down/up` elsewhere wipes them), and the test waits while another `kasset operator` that
watches every namespace is running (a chart test's Deployment would reconcile our runs too).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from e2e_world import E2E

from kube import Kube
from operator_harness import (
    HostPathStorage,
    cluster_wide_operators,
    install_crds,
    restrict_namespace,
)

FOREIGN_WAIT_S = float(os.environ.get("KASSET_E2E_FOREIGN_WAIT", "420"))


def _no_cluster_wide_operator(kube: Kube) -> None:
    """Each test's runs must be reconciled by its own operator only. Another operator that
    watches every namespace (a chart test's Deployment, a `kasset operator -A`) would act
    on them too: wait for it to go, then fail saying who it is."""
    found = cluster_wide_operators(kube)
    if not found:
        return
    print(f"\nwaiting up to {FOREIGN_WAIT_S:g}s for cluster-wide kasset operators: {found}")
    deadline = time.monotonic() + FOREIGN_WAIT_S
    while found and time.monotonic() < deadline:
        time.sleep(5)
        found = cluster_wide_operators(kube)
    if found:
        pytest.fail(
            f"other kasset operators watch every namespace and would reconcile this test's "
            f"runs too: {found} (shared cluster; set KASSET_E2E_FOREIGN_WAIT to wait longer)",
            pytrace=False,
        )


@pytest.fixture
def e2e(
    kube: Kube, namespace: str, test_image: str, request: pytest.FixtureRequest
) -> Iterator[E2E]:
    _no_cluster_wide_operator(kube)
    install_crds(kube)  # again per test: a shared cluster may have been reset (down/up)
    restrict_namespace(kube, namespace)
    storage = HostPathStorage(kube, namespace)
    with ExitStack() as stack:
        stack.callback(storage.delete)
        storage.create()
        world = E2E(kube, namespace, test_image, storage, stack, request.node.name)
        try:
            yield world
        finally:
            report = getattr(request.node, "rep_call", None)
            if report is None or report.failed:
                print(f"\n===== diagnostics of {namespace} =====\n{world.diagnose()}")
                mats = kube.kubectl("get", "mat", "-n", namespace, "-o", "json", check=False)
                try:
                    for item in json.loads(mats.stdout or "{}").get("items", []):
                        print(
                            f"--- {item['metadata']['name']} status:\n"
                            f"{json.dumps(item.get('status'), indent=1)[-4000:]}"
                        )
                except json.JSONDecodeError:
                    pass
            else:
                try:
                    foreign = world.foreign_operators()
                except Exception:
                    foreign = set()
                if foreign:
                    print(f"\n!!! other kasset operators acted in {namespace}: {sorted(foreign)}")
            # the operators stop first (ExitStack order), then storage goes
