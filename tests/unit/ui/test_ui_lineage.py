"""The lineage renderer: Graphviz layouts, cached by structure; a networkx fallback."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from kasset.definitions.keys import AssetKey
from kasset.graph import AssetGraph, AssetNode
from kasset.ui import lineage
from kasset.ui.lineage import clear_layout_cache, layout, render_svg


def _graph() -> AssetGraph:
    a, b, c = AssetKey.from_string("raw/a"), AssetKey("b"), AssetKey("c-1.x")
    return AssetGraph([AssetNode(a, group="raw"), AssetNode(b, (a,)), AssetNode(c, (a, b))])


def test_every_node_and_edge_is_drawn_with_its_health() -> None:
    svg = render_svg(_graph(), {AssetKey.from_string("raw/a"): "Fresh", AssetKey("b"): "Failed"})
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert 'class="node h-fresh" data-key="raw/a"' in svg
    assert 'class="node h-failed" data-key="b"' in svg
    assert 'class="node h-unknown" data-key="c-1.x"' in svg
    assert svg.count('<path class="edge"') == 3
    assert 'data-engine="dot"' in svg


def test_nodes_link_where_asked_and_selections_cut_the_graph() -> None:
    svg = render_svg(
        _graph(), selection="b+", href=lambda key: f"/assets/x/{key}", standalone=False
    )
    assert '<a href="/assets/x/b"' in svg and "<style>" not in svg
    assert 'data-key="raw/a"' not in svg and svg.count('<path class="edge"') == 1


def test_titles_and_links_are_escaped() -> None:
    shape = layout(["a"], [])
    svg = lineage.render_layout(
        shape, titles={"a": "<script>x</script>"}, href=lambda key: '/x?a="b"&c'
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'href="/x?a=&quot;b&quot;&amp;c"' in svg


def test_layouts_are_cached_by_structure_not_by_health() -> None:
    clear_layout_cache()
    nodes, edges = ["a", "b"], [("a", "b")]
    first = layout(nodes, edges)
    assert layout(list(nodes), list(edges)) is first
    assert layout(["a", "b", "c"], edges) is not first


def test_without_dot_the_layers_are_laid_out_by_networkx(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clear_layout_cache()
    monkeypatch.setattr(lineage.shutil, "which", lambda name: None)
    lineage._fallback_logged.clear()
    with caplog.at_level(logging.WARNING):
        shape = layout(["a", "b", "c"], [("a", "b"), ("b", "c")])
    assert shape.engine == "networkx"
    assert shape.boxes["a"].x < shape.boxes["b"].x < shape.boxes["c"].x
    assert "graphviz 'dot' is not installed" in caplog.text
    clear_layout_cache()


def test_long_keys_are_shortened_on_the_node_but_kept_in_the_title() -> None:
    key = "warehouse/" + "very_long_asset_name_" * 4
    svg = render_svg(AssetGraph([AssetNode(AssetKey.from_string(key))]))
    assert "…</text>" in svg and f"<title>{key}" in svg


def test_kasset_graph_svg_writes_the_lineage_of_definitions(tmp_path: Path) -> None:
    from kasset import Definitions, asset
    from kasset.ui.cli import write_graph_svg

    @asset
    def numbers() -> int:
        return 1

    @asset
    def doubled(numbers: int) -> int:
        return 2 * numbers

    target = tmp_path / "lineage.svg"
    assert write_graph_svg(Definitions(assets=[numbers, doubled]), str(target)) == 0
    svg = target.read_text()
    assert 'data-key="numbers"' in svg and 'data-key="doubled"' in svg and "<style>" in svg


@pytest.mark.parametrize("engine", ["dot", "networkx"])
def test_a_frame_holds_its_nodes_and_edges_to_it_end_at_the_frame(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_layout_cache()
    if engine == "networkx":
        monkeypatch.setattr(lineage.shutil, "which", lambda _: None)
    frames = {"frame:core": ["core/a", "core/b"]}
    edges = [("group:raw", "frame:core"), ("core/a", "core/b"), ("frame:core", "group:marts")]
    shape = layout(["group:raw", "core/a", "core/b", "group:marts"], edges, frames)
    assert shape.engine == engine
    assert sorted((a, b) for a, b, _ in shape.edges) == sorted(edges)
    rect = shape.frames["frame:core"]
    for key in ("core/a", "core/b"):
        box = shape.boxes[key]
        assert rect.x - rect.width / 2 < box.x - box.width / 2
        assert box.x + box.width / 2 < rect.x + rect.width / 2
        assert rect.y - rect.height / 2 < box.y - box.height / 2
        assert box.y + box.height / 2 < rect.y + rect.height / 2
    svg = lineage.render_layout(shape, standalone=False)
    assert 'class="frame" data-frame="frame:core"' in svg and ">core</text>" in svg
    clear_layout_cache()
