from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kasset.resources.__main__ import main
from kasset.resources.base import KindInfo
from kasset.resources.crdgen import HEADER, KINDS, crd_filename, crd_for, render_crd

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_committed_crds_match_the_models(kind: KindInfo) -> None:
    path = REPO / "crds" / crd_filename(kind)
    assert path.read_text(encoding="utf-8") == render_crd(kind), (
        f"{path} is stale: run `make crds` (python -m kasset.resources crds/)"
    )


def test_rendering_is_deterministic_and_headed() -> None:
    for kind in KINDS:
        text = render_crd(kind)
        assert text == render_crd(kind)
        assert text.startswith(HEADER)
        assert "&id" not in text


def test_the_yaml_parses_back_to_the_crd() -> None:
    for kind in KINDS:
        assert yaml.safe_load(render_crd(kind)) == crd_for(kind)


def test_names_short_names_and_categories() -> None:
    names = {kind.kind: crd_for(kind)["spec"]["names"] for kind in KINDS}
    assert names["AssetGraph"]["shortNames"] == ["ag"]
    assert names["Materialization"]["shortNames"] == ["mat"]
    assert names["Asset"]["shortNames"] == ["kas"]
    assert {name["plural"] for name in names.values()} == {
        "assetgraphs",
        "assets",
        "materializations",
    }
    assert all(name["categories"] == ["kasset"] for name in names.values())


def test_every_kind_is_namespaced_with_a_status_subresource() -> None:
    for kind in KINDS:
        spec = crd_for(kind)["spec"]
        assert spec["scope"] == "Namespaced"
        (version,) = spec["versions"]
        assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
        assert version["subresources"] == {"status": {}}


def _columns(kind_name: str) -> dict[str, dict[str, object]]:
    (kind,) = [k for k in KINDS if k.kind == kind_name]
    columns = crd_for(kind)["spec"]["versions"][0]["additionalPrinterColumns"]
    return {column["name"]: column for column in columns}


def test_printer_columns() -> None:
    assert list(_columns("AssetGraph")) == ["Assets", "Ready", "Image", "Age"]
    assert list(_columns("Asset")) == [
        "Key",
        "Graph",
        "Group",
        "Health",
        "Last Materialized",
        "Age",
    ]
    materialization = _columns("Materialization")
    assert list(materialization) == [
        "Graph",
        "Phase",
        "Succeeded",
        "Failed",
        "Total",
        "Age",
        "Message",
    ]
    assert materialization["Message"]["priority"] == 1


def test_printer_columns_point_at_fields_of_the_schema() -> None:
    for kind in KINDS:
        version = crd_for(kind)["spec"]["versions"][0]
        schema = version["schema"]["openAPIV3Schema"]
        for column in version["additionalPrinterColumns"]:
            path = str(column["jsonPath"]).split("[")[0].strip(".").split(".")
            if path[0] == "metadata":
                continue
            node = schema
            for part in path:
                node = node["properties"][part] if "properties" in node else node["items"]
            assert node["type"] in {"string", "integer", "array"}, column


def test_main_writes_the_files_and_check_reports_drift(tmp_path: Path) -> None:
    assert main([str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(crd_filename(k) for k in KINDS)
    assert main([str(tmp_path), "--check"]) == 0
    (tmp_path / crd_filename(KINDS[0])).write_text("stale", encoding="utf-8")
    assert main([str(tmp_path), "--check"]) == 1
