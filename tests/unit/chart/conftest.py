"""Fixtures for the Helm chart's offline tests: a helm binary (hack/helm builds and caches
it on first use) and `render`, which runs `helm template` and returns the parsed objects."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from chartlib import CHART, NAMESPACE, RELEASE, REPO, Docs, parse, run_helm


@pytest.fixture(scope="session")
def helm_bin() -> str:
    """Path of the helm binary: $KASSET_HELM, else hack/helm (built from its Go module)."""
    if os.environ.get("KASSET_HELM"):
        return os.environ["KASSET_HELM"]
    if not shutil.which("go") and not Path("/usr/local/go/bin/go").exists():
        cached = sorted((Path.home() / ".cache/kasset/helm").glob("*/helm"))
        if not cached:
            pytest.skip("no Go toolchain to build helm and no cached helm binary")
        return str(cached[-1])
    out = subprocess.run(
        [str(REPO / "hack/helm")], capture_output=True, text=True, timeout=900, check=False
    )
    assert out.returncode == 0, f"hack/helm failed:\n{out.stderr[-4000:]}"
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture
def helm(helm_bin: str, tmp_path: Path) -> Callable[..., str]:
    """helm(*args, values=None) -> stdout; raises HelmError (stderr) on failure."""

    def call(*args: str, values: dict[str, Any] | None = None) -> str:
        return run_helm(helm_bin, *args, values=values, tmp=tmp_path)

    return call


@pytest.fixture
def render(helm: Callable[..., str]) -> Callable[..., Docs]:
    """render(values=None, namespace=NAMESPACE, *extra_args) -> the rendered objects."""

    def call(values: dict[str, Any] | None = None, namespace: str = NAMESPACE, *extra: str) -> Docs:
        out = helm(
            "template", RELEASE, str(CHART), "--namespace", namespace, *extra, values=values or {}
        )
        return parse(out)

    return call
