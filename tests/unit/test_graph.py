"""AssetGraph: validation, stable order, selection syntax, neighbourhoods."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kasset import AssetKey
from kasset.errors import CycleError, DefinitionError, SelectionError
from kasset.graph import AssetGraph, AssetNode


def node(key: str, *deps: str, group: str = "default", **tags: str) -> AssetNode:
    return AssetNode(
        AssetKey.from_string(key),
        tuple(AssetKey.from_string(d) for d in deps),
        group=group,
        tags=tags,
    )


def names(keys: list[AssetKey] | set[AssetKey]) -> list[str]:
    return [k.to_string() for k in keys] if isinstance(keys, list) else sorted(map(str, keys))


@pytest.fixture
def shop() -> AssetGraph:
    r"""raw/customers  raw/orders
            \          /    \
            clean/orders     clean/refunds
                 |
            report (tag tier=gold)"""
    return AssetGraph(
        [
            node("report", "clean/orders", group="marts", tier="gold"),
            node("clean/refunds", "raw/orders", group="clean"),
            node("clean/orders", "raw/orders", "raw/customers", group="clean", tier="silver"),
            node("raw/orders", group="raw", team="data"),
            node("raw/customers", group="raw"),
        ]
    )


def test_order_is_topological_with_alphabetical_ties(shop: AssetGraph) -> None:
    assert names(shop.order) == [
        "raw/customers",
        "raw/orders",
        "clean/orders",
        "clean/refunds",
        "report",
    ]
    assert names(shop.roots()) == ["raw/customers", "raw/orders"]


def test_order_does_not_depend_on_declaration_order(shop: AssetGraph) -> None:
    reversed_graph = AssetGraph(reversed(list(shop.nodes.values())))
    assert reversed_graph.order == shop.order


def test_neighbourhoods(shop: AssetGraph) -> None:
    orders = AssetKey.from_string("raw/orders")
    assert names(shop.children(orders)) == ["clean/orders", "clean/refunds"]
    assert names(shop.downstream(orders)) == ["clean/orders", "clean/refunds", "report"]
    assert names(shop.downstream(orders, 1)) == ["clean/orders", "clean/refunds"]
    assert names(shop.upstream(AssetKey("report"))) == [
        "clean/orders",
        "raw/customers",
        "raw/orders",
    ]
    assert names(shop.parents(AssetKey("report"))) == ["clean/orders"]
    assert [names(layer) for layer in shop.layers()] == [
        ["raw/customers", "raw/orders"],
        ["clean/orders", "clean/refunds"],
        ["report"],
    ]


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (None, ["raw/customers", "raw/orders", "clean/orders", "clean/refunds", "report"]),
        ("", ["raw/customers", "raw/orders", "clean/orders", "clean/refunds", "report"]),
        ("*", ["raw/customers", "raw/orders", "clean/orders", "clean/refunds", "report"]),
        ("raw/orders", ["raw/orders"]),
        ("report", ["report"]),
        ("refunds", ["clean/refunds"]),  # a unique last part names the asset
        ("raw/orders+", ["raw/orders", "clean/orders", "clean/refunds"]),
        ("raw/orders++", ["raw/orders", "clean/orders", "clean/refunds", "report"]),
        ("raw/orders*", ["raw/orders", "clean/orders", "clean/refunds", "report"]),
        ("+report", ["clean/orders", "report"]),
        ("*report", ["raw/customers", "raw/orders", "clean/orders", "report"]),
        ("+clean/orders+", ["raw/customers", "raw/orders", "clean/orders", "report"]),
        ("group:raw", ["raw/customers", "raw/orders"]),
        ("tag:tier", ["clean/orders", "report"]),
        ("tag:tier=gold", ["report"]),
        ("group:raw, report", ["raw/customers", "raw/orders", "report"]),
        ("report,report", ["report"]),
    ],
)
def test_selection_syntax(shop: AssetGraph, selection: str | None, expected: list[str]) -> None:
    assert names(shop.select(selection)) == expected


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        ("raw/ordrs", "no asset 'raw/ordrs' in the graph (did you mean 'raw/orders'"),
        ("orders", "'orders' is ambiguous: it could be raw/orders, clean/orders"),
        ("group:rwa", "no asset is in group 'rwa' (did you mean 'raw'?)"),
        ("tag:tier=platinum", "no asset has the tag 'tier=platinum'"),
        ("report,", "empty term in selection 'report,'"),
        ("group:", "selection term 'group:' needs a name after ':'"),
        ("re port", "invalid selection term 're port'"),
        ("*report*+", "invalid selection term"),
    ],
)
def test_selection_mistakes_explain_themselves(
    shop: AssetGraph, selection: str, message: str
) -> None:
    with pytest.raises(SelectionError) as raised:
        shop.select(selection)
    assert message in str(raised.value)


def test_a_cycle_is_reported_from_its_smallest_member_in_flow_order() -> None:
    with pytest.raises(CycleError) as raised:
        AssetGraph([node("b", "a"), node("c", "b"), node("a", "c"), node("d", "a")])
    assert raised.value.members == ["a", "b", "c"]


def test_a_self_dependency_is_a_cycle() -> None:
    with pytest.raises(CycleError, match="a -> a"):
        AssetGraph([node("a", "a")])


def test_duplicate_nodes_and_missing_upstreams_are_rejected() -> None:
    with pytest.raises(DefinitionError, match="duplicate asset key 'a'"):
        AssetGraph([node("a"), node("a")])
    with pytest.raises(DefinitionError, match="asset 'b' depends on 'aa', which is not defined"):
        AssetGraph([node("a"), node("b", "aa")])


@st.composite
def dags(draw: st.DrawFn) -> list[AssetNode]:
    count = draw(st.integers(min_value=1, max_value=12))
    keys = [f"n{i:02d}" for i in range(count)]
    nodes = []
    for i, key in enumerate(keys):
        deps = draw(st.sets(st.sampled_from(keys[:i]), max_size=3)) if i else set()
        nodes.append(node(key, *sorted(deps)))
    return draw(st.permutations(nodes))


@given(dags())
def test_order_puts_every_upstream_first(nodes: list[AssetNode]) -> None:
    graph = AssetGraph(nodes)
    position = {key: i for i, key in enumerate(graph.order)}
    assert len(position) == len(nodes)
    for item in nodes:
        assert all(position[dep] < position[item.key] for dep in item.deps)


@given(dags(), st.data())
def test_star_selections_are_ancestors_and_descendants(
    nodes: list[AssetNode], data: st.DataObject
) -> None:
    graph = AssetGraph(nodes)
    key = data.draw(st.sampled_from(sorted(graph.nodes)))
    assert set(graph.select(f"*{key}")) == graph.upstream(key) | {key}
    assert set(graph.select(f"{key}*")) == graph.downstream(key) | {key}
    assert graph.select(f"{key}*") == graph.sort(graph.select(f"{key}*"))
