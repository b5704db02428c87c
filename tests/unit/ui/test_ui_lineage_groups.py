"""Folding a lineage into group boxes: which assets share a box, which boxes are open,
and the edges between boxes."""

from __future__ import annotations

from kasset.ui.lineage_groups import COLLAPSE_ABOVE, fold, parse_expanded, worst_health

NODES = ["raw/a", "raw/b", "core/c", "core/d", "marts/e"]
EDGES = [("raw/a", "core/c"), ("raw/b", "core/c"), ("core/c", "core/d"), ("core/d", "marts/e")]
GROUPS = {"raw/a": "raw", "raw/b": "raw", "core/c": "core", "core/d": "core", "marts/e": "marts"}
HEALTH = {"raw/a": "Fresh", "raw/b": "Failed", "core/c": "Fresh", "core/d": "Stale"}


def test_closed_groups_become_one_node_each_with_one_edge_per_pair_of_boxes() -> None:
    folded = fold(NODES, EDGES, GROUPS, HEALTH, expanded=frozenset())
    assert folded.by == "group"
    assert folded.nodes == ["group:raw", "group:core", "marts/e"]  # a box of one stays an asset
    assert folded.edges == [("group:raw", "group:core"), ("group:core", "marts/e")]
    assert folded.edge_counts[("group:raw", "group:core")] == 2
    raw = folded.boxes["group:raw"]
    assert raw.members == ("raw/a", "raw/b")
    assert raw.health == {"Fresh": 1, "Failed": 1} and raw.worst == "Failed"
    assert folded.box_of("raw/b") == "group:raw" and folded.box_of("marts/e") is None


def test_an_opened_group_is_framed_and_wired_to_the_closed_boxes_through_its_frame() -> None:
    folded = fold(NODES, EDGES, GROUPS, HEALTH, expanded=frozenset({"core"}))
    assert folded.nodes == ["group:raw", "core/c", "core/d", "marts/e"]
    assert folded.frames == {"frame:core": ("core/c", "core/d")}
    # raw's two edges into core become one edge to core's frame; asset edges stay.
    assert folded.edges == [
        ("group:raw", "frame:core"),
        ("core/c", "core/d"),
        ("core/d", "marts/e"),
    ]
    assert folded.edge_counts[("group:raw", "frame:core")] == 2
    assert folded.expanded == {"core"}


def test_edges_between_two_open_groups_stay_between_their_assets() -> None:
    folded = fold(NODES, EDGES, GROUPS, HEALTH, expanded=frozenset({"raw", "core"}))
    assert not folded.boxes and not folded.frames  # marts has one asset: nothing is closed
    assert folded.edges == EDGES


def test_a_star_opens_every_box_and_the_graph_is_drawn_whole() -> None:
    folded = fold(NODES, EDGES, GROUPS, HEALTH, expanded=frozenset({"*"}))
    assert folded.nodes == NODES and folded.edges == EDGES
    assert not folded.boxes and not folded.frames
    assert folded.expanded == {"raw", "core", "marts"}


def test_small_views_open_by_default_and_big_ones_start_closed() -> None:
    assert not fold(NODES, EDGES, GROUPS, HEALTH).boxes
    many = [f"g{i % 4}/a{i}" for i in range(COLLAPSE_ABOVE + 1)]
    groups = {key: key.split("/")[0] for key in many}
    folded = fold(many, [], groups, {})
    assert sorted(folded.boxes) == ["group:g0", "group:g1", "group:g2", "group:g3"]
    assert sum(len(b.members) for b in folded.boxes.values()) == len(many)


def test_one_group_is_folded_by_the_first_part_of_the_keys() -> None:
    nodes = ["x/a", "x/b", "y/c", "top"]
    folded = fold(nodes, [("x/a", "y/c"), ("x/b", "top")], {}, {}, expanded=frozenset())
    assert folded.by == "prefix"
    assert folded.nodes == ["prefix:x", "y/c", "top"]  # y has one asset; `top` has no prefix
    assert folded.edges == [("prefix:x", "y/c"), ("prefix:x", "top")]


def test_folding_can_make_boxes_that_feed_each_other() -> None:
    nodes, groups = ["p/a", "q/b", "p/c"], {"p/a": "p", "q/b": "q", "p/c": "p"}
    folded = fold(nodes, [("p/a", "q/b"), ("q/b", "p/c")], groups, {}, expanded=frozenset())
    assert folded.edges == [("group:p", "q/b"), ("q/b", "group:p")]


def test_the_expand_parameter_reads_absent_empty_star_and_names() -> None:
    assert parse_expanded(None) is None
    assert parse_expanded("") == frozenset()
    assert parse_expanded("*") == {"*"}
    assert parse_expanded(" raw,,marts ") == {"raw", "marts"}


def test_a_box_shows_its_worst_members_health() -> None:
    assert worst_health({"Fresh": 3}) == "Fresh"
    assert worst_health({"Fresh": 3, "Missing": 1}) == "Missing"
    assert worst_health({"Stale": 1, "Failed": 1}) == "Failed"
    assert worst_health({}) == "Missing"
