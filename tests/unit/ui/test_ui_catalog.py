"""The catalog's order, filters and pages."""

from __future__ import annotations

from kasset.resources import AssetHealth, AssetResource, AssetSpec, AssetStatus, ObjectMeta
from kasset.ui.catalog import PAGE_SIZE, catalog, natural_key


def _row(key: str, group: str = "g", health: str = "Fresh", graph: str = "demo") -> AssetResource:
    return AssetResource(
        metadata=ObjectMeta(name=key.replace("/", "-"), namespace="ns"),
        spec=AssetSpec(graph=graph, key=key, group=group),
        status=AssetStatus(health=AssetHealth(health)),
    )


def test_names_sort_in_natural_order() -> None:
    keys = ["a10", "a2", "a1", "a100", "b/x9", "b/x10", "A3"]
    assert sorted(keys, key=natural_key) == ["a1", "a2", "A3", "a10", "a100", "b/x9", "b/x10"]


def test_rows_sort_by_graph_then_key_in_natural_order() -> None:
    rows = [_row("a10"), _row("a2", graph="g10"), _row("a9"), _row("a1", graph="g2")]
    found = catalog(rows)
    assert [(r.graph, r.key) for r in found.rows] == [
        ("demo", "a9"),
        ("demo", "a10"),
        ("g2", "a1"),
        ("g10", "a2"),
    ]
    assert found.graphs == ["demo", "g2", "g10"]


def test_ten_thousand_rows_come_a_page_at_a_time() -> None:
    rows = [_row(f"a{i}") for i in range(10_000)]
    first = catalog(rows)
    assert len(first.rows) == PAGE_SIZE and first.pages == 10_000 // PAGE_SIZE
    assert [r.key for r in first.rows[:3]] == ["a0", "a1", "a2"]
    second = catalog(rows, page=2)
    assert second.rows[0].key == f"a{PAGE_SIZE}" and second.first == PAGE_SIZE + 1
    last = catalog(rows, page=10**6)  # past the end: the last page
    assert last.page == last.pages and last.rows[-1].key == "a9999"


def test_filters_combine_and_counts_cover_every_row() -> None:
    rows = [
        _row(f"a{i}", group=f"g{i % 2}", health="Failed" if i % 5 == 0 else "Fresh")
        for i in range(20)
    ]
    found = catalog(rows, group="g0", health="Failed")
    assert [r.key for r in found.rows] == ["a0", "a10"]
    assert found.matched == 2 and found.total == 20
    assert found.counts["Failed"] == 4 and found.counts["Fresh"] == 16
    assert catalog(rows, q="A1").matched == 11  # a1, a10..a19: case-insensitive substring


def test_nothing_matched_is_one_empty_page() -> None:
    found = catalog([_row("a1")], q="zzz")
    assert found.rows == [] and found.pages == 1 and found.page == 1 and found.first == 0
