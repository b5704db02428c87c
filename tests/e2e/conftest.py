"""Fixtures of the end-to-end tests: the chart installed the way the demo installs it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from demo import Demo, demo_install
from kube import Kube


@pytest.fixture(scope="session")
def demo(kube: Kube) -> Iterator[Demo]:
    yield from demo_install("kasset-e2e-demo", local=kube.local)
