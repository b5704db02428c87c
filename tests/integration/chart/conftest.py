"""Fixtures of the chart's integration tests. They need the local cluster
(`hack/cluster status` exits 0) and skip otherwise; `KASSET_USE_CONTEXT=1` uses the current
kubeconfig context instead (e.g. kind)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from chartkube import Kube, cluster_env, helm_binary


@pytest.fixture(scope="session")
def chart_kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kube]:
    found = cluster_env()
    if found is None:
        pytest.skip("local cluster not up (hack/cluster up)")
    env, tier = found
    home: Path = tmp_path_factory.mktemp("helm-home")
    env = {
        **env,
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }
    kube = Kube(env=env, helm_bin=helm_binary(), tier=tier, home=home)
    yield kube
    kube.cleanup()


@pytest.fixture
def full_cluster(chart_kube: Kube) -> Kube:
    """The cluster, when it runs pods (tier full)."""
    if chart_kube.tier != "full":
        pytest.skip(f"needs a kubelet (cluster tier is {chart_kube.tier})")
    return chart_kube
