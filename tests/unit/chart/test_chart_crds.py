"""The chart's crds/ is a byte-for-byte copy of the generated top-level crds/
(`python -m kasset.resources crds/ && hack/sync-chart-crds`, i.e. `make crds`)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from chartlib import CHART, REPO, Docs

TOP = REPO / "crds"
CHART_CRDS = CHART / "crds"


def _yaml_files(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.glob("*.yaml"))} if d.is_dir() else {}


def test_chart_crds_equal_generated_crds() -> None:
    top = _yaml_files(TOP)
    if not top:
        pytest.skip("crds/ not generated yet (python -m kasset.resources crds/)")
    chart = _yaml_files(CHART_CRDS)
    assert sorted(chart) == sorted(top), "file sets differ: run hack/sync-chart-crds"
    for name, data in top.items():
        assert chart[name] == data, f"charts/kasset/crds/{name} differs: run hack/sync-chart-crds"
    check = subprocess.run(
        [str(REPO / "hack/sync-chart-crds"), "--check"], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stderr


def test_chart_crds_are_kasset_crds(render: Callable[..., Docs]) -> None:
    files = _yaml_files(CHART_CRDS)
    if not files:
        pytest.skip("charts/kasset/crds/ is empty until crds/ is generated and synced")
    plurals = set()
    for name, data in files.items():
        for doc in yaml.safe_load_all(data):
            if not doc:
                continue
            assert doc["kind"] == "CustomResourceDefinition", name
            assert doc["spec"]["group"] == "kasset.io", name
            plurals.add(doc["spec"]["names"]["plural"])
    assert {"assetgraphs", "assets", "materializations"} <= plurals
    rendered = render(None, "kasset-system", "--include-crds")
    crds = {d["metadata"]["name"] for d in rendered if d["kind"] == "CustomResourceDefinition"}
    assert {f"{p}.kasset.io" for p in ("assetgraphs", "assets", "materializations")} <= crds


def test_sync_script_copies_and_prunes(tmp_path: Path) -> None:
    (tmp_path / "hack").mkdir()
    shutil.copy(REPO / "hack/sync-chart-crds", tmp_path / "hack/sync-chart-crds")
    (tmp_path / "crds").mkdir()
    (tmp_path / "crds/a.yaml").write_text("kind: CustomResourceDefinition\nmetadata: {name: a}\n")
    (tmp_path / "crds/b.yaml").write_text("kind: CustomResourceDefinition\nmetadata: {name: b}\n")
    dst = tmp_path / "charts/kasset/crds"
    dst.mkdir(parents=True)
    (dst / "stale.yaml").write_text("old")
    (dst / "a.yaml").write_text("outdated")
    script = str(tmp_path / "hack/sync-chart-crds")

    check = subprocess.run([script, "--check"], capture_output=True, text=True, check=False)
    assert check.returncode == 1
    subprocess.run([script], check=True, capture_output=True)
    assert _yaml_files(dst) == _yaml_files(tmp_path / "crds")
    check = subprocess.run([script, "--check"], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr
