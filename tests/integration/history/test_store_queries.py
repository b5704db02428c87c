"""The history store's queries on both backends: what the asset page, the runs page, a
run's event log, checks, plots and search will read."""

from __future__ import annotations

import pytest
from history_builders import at, materialization, run_events

from kasset.errors import HistoryError
from kasset.history import (
    CHECK_EVALUATED,
    MATERIALIZED,
    OBSERVED,
    SCHEDULE_TICK,
    HistoryEvent,
    RunFilter,
    tick_event,
)
from kasset.history.store import SqlHistoryStore


def _all_pages(fetch, limit):  # type: ignore[no-untyped-def]
    seen, cursor, pages = [], None, 0
    while True:
        page = fetch(limit=limit, cursor=cursor)
        seen.extend(page.items)
        pages += 1
        if page.next_cursor is None:
            return seen, pages
        cursor = page.next_cursor


def test_an_assets_materializations_page_newest_first_through_every_row(
    store: SqlHistoryStore,
) -> None:
    store.append([materialization(n) for n in range(1, 121)])
    store.append([materialization(n, asset="raw/customers") for n in range(1, 6)])

    def fetch(limit: int, cursor: str | None):  # type: ignore[no-untyped-def]
        return store.asset_events("data", "shop", "raw/orders", [MATERIALIZED],
                                  limit=limit, cursor=cursor)  # fmt: skip

    seen, pages = _all_pages(fetch, 50)

    assert pages == 3
    assert [s.event.payload["metadata"]["rows"] for s in seen] == list(range(120, 0, -1))
    assert {s.event.asset for s in seen} == {"raw/orders"}


def test_rows_added_between_pages_neither_repeat_nor_vanish(store: SqlHistoryStore) -> None:
    store.append([materialization(n) for n in range(1, 11)])
    first = store.asset_events("data", "shop", "raw/orders", [MATERIALIZED], limit=4)
    store.append([materialization(n) for n in range(11, 15)])  # newer: before page one
    rest = store.asset_events(
        "data", "shop", "raw/orders", [MATERIALIZED], limit=100, cursor=first.next_cursor
    )
    numbers = [s.event.payload["metadata"]["rows"] for s in first.items + rest.items]
    assert numbers == list(range(10, 0, -1))


def test_events_at_the_same_instant_are_paged_by_their_place_in_the_log(
    store: SqlHistoryStore,
) -> None:
    same = [
        HistoryEvent(id=f"m{n}", kind=MATERIALIZED, namespace="data", graph="shop",
                     timestamp=at(5), run="r", asset="a", payload={"metadata": {"n": n}})
        for n in range(7)
    ]  # fmt: skip
    store.append(same)
    seen, _ = _all_pages(
        lambda limit, cursor: store.asset_events(
            "data", "shop", "a", [MATERIALIZED], limit=limit, cursor=cursor
        ),
        3,
    )
    assert [s.event.payload["metadata"]["n"] for s in seen] == [6, 5, 4, 3, 2, 1, 0]


def test_materializations_and_observations_merge_into_one_timeline(
    store: SqlHistoryStore,
) -> None:
    store.append([materialization(n) for n in (1, 3, 5)])
    store.append([materialization(n, kind=OBSERVED) for n in (2, 4)])
    page = store.asset_events("data", "shop", "raw/orders", [MATERIALIZED, OBSERVED], limit=4)
    assert [(s.event.kind, s.event.timestamp) for s in page.items] == [
        (MATERIALIZED, at(5)), (OBSERVED, at(4)), (MATERIALIZED, at(3)), (OBSERVED, at(2)),
    ]  # fmt: skip
    rest = store.asset_events(
        "data", "shop", "raw/orders", [MATERIALIZED, OBSERVED], cursor=page.next_cursor
    )
    assert [s.event.timestamp for s in rest.items] == [at(1)]
    assert rest.next_cursor is None


def test_a_materializations_full_typed_metadata_comes_back_as_it_went_in(
    store: SqlHistoryStore,
) -> None:
    metadata = {
        "rows": 1234,
        "dashboard": {"type": "url", "value": "https://example.test/d/1"},
        "preview": {"type": "md", "value": "| a |\n|---|\n| 1 |"},
        "schema": {"type": "table_schema", "value": {"columns": [{"name": "a", "type": "int"}]}},
        "long": "x" * 5000,
        "ratio": 0.25,
        "ok": True,
        "nothing": None,
    }
    store.append([materialization(1, metadata=metadata, partition="2026-01-01")])
    (stored,) = store.asset_events("data", "shop", "raw/orders", [MATERIALIZED]).items
    assert stored.event.payload["metadata"] == metadata
    assert stored.event.partition == "2026-01-01"
    assert stored.event.timestamp == at(1)


def test_a_nul_character_in_metadata_is_stored_as_a_replacement_character(
    store: SqlHistoryStore,
) -> None:
    store.append([materialization(1, metadata={"note\x00": ["a\x00b", {"c": "\x00"}]})])
    (stored,) = store.asset_events("data", "shop", "raw/orders", [MATERIALIZED]).items
    assert stored.event.payload["metadata"] == {"note\ufffd": ["a\ufffdb", {"c": "\ufffd"}]}


def test_appending_the_same_event_twice_stores_it_once(store: SqlHistoryStore) -> None:
    batch = [materialization(n) for n in range(1, 4)]
    assert store.append(batch) == 3
    assert store.append(batch) == 0
    assert store.append([*batch, materialization(4), batch[0]]) == 1
    page = store.asset_events("data", "shop", "raw/orders", [MATERIALIZED])
    assert len(page.items) == 4
    assert len(store.metadata_series("data", "shop", "raw/orders", "rows")) == 4


def test_an_assets_history_filters_by_partition(store: SqlHistoryStore) -> None:
    store.append([materialization(n, partition=f"2026-01-0{n % 3 + 1}") for n in range(1, 10)])
    page = store.asset_events("data", "shop", "raw/orders", [MATERIALIZED], partition="2026-01-01")
    assert [s.event.timestamp for s in page.items] == [at(9), at(6), at(3)]


def test_checks_over_time_for_one_check_or_all(store: SqlHistoryStore) -> None:
    def check(number: int, name: str, passed: bool) -> HistoryEvent:
        return HistoryEvent(
            id=f"c{number}{name}", kind=CHECK_EVALUATED, namespace="data", graph="shop",
            timestamp=at(number), run=f"run-{number}", asset="raw/orders", name=name,
            payload={"check": {"name": name, "passed": passed, "severity": "ERROR"}},
        )  # fmt: skip

    store.append([check(n, "has_rows", n % 2 == 0) for n in range(1, 6)])
    store.append([check(n, "fresh", True) for n in range(1, 3)])
    page = store.asset_events("data", "shop", "raw/orders", [CHECK_EVALUATED], name="has_rows")
    assert [s.event.payload["check"]["passed"] for s in page.items] == [
        False, True, False, True, False,
    ]  # fmt: skip
    assert len(store.asset_events("data", "shop", "raw/orders", [CHECK_EVALUATED]).items) == 7


def test_numeric_metadata_becomes_a_series_for_plots(store: SqlHistoryStore) -> None:
    store.append(
        [
            materialization(
                n,
                metadata={
                    "rows": n * 10,
                    "seconds": {"type": "float", "value": n / 2},
                    "label": "x",
                    "ok": True,
                },
            )
            for n in range(1, 8)
        ]
    )
    assert store.metadata_keys("data", "shop", "raw/orders") == ["rows", "seconds"]
    points = store.metadata_series("data", "shop", "raw/orders", "rows", limit=3)
    assert [(p.time, p.value) for p in points] == [(at(5), 50.0), (at(6), 60.0), (at(7), 70.0)]
    assert points[0].run == "run-5"
    window = store.metadata_series(
        "data", "shop", "raw/orders", "seconds", since=at(2), until=at(4)
    )
    assert [p.value for p in window] == [1.0, 1.5]


def test_a_runs_event_log_reads_in_order(store: SqlHistoryStore) -> None:
    store.append(run_events("run-7", start=100))
    store.append([materialization(101, run="run-7"), materialization(102, run="other")])
    seen, pages = _all_pages(
        lambda limit, cursor: store.run_events("data", "run-7", limit=limit, cursor=cursor), 2
    )
    assert [s.event.kind for s in seen] == [
        "RUN_PENDING", "RUN_RUNNING", "ASSET_MATERIALIZED", "RUN_SUCCEEDED",
    ]  # fmt: skip
    assert pages == 2


def test_a_run_is_described_by_its_newest_phase_whatever_order_events_arrive(
    store: SqlHistoryStore,
) -> None:
    pending, running, failed = run_events("run-1", start=10, phase="Failed")
    store.append([failed])
    store.append([materialization(11, run="run-1")])
    store.append([running, pending])
    run = store.get_run("data", "run-1")
    assert run is not None
    assert (run.phase, run.created, run.ended) == ("Failed", at(10), at(12))
    assert (run.launched_by, run.selection, run.message) == ("cli", "*", "Failed at last")
    assert run.assets == ("raw/orders",)


def test_a_run_seen_only_through_its_steps_is_listed_without_a_phase(
    store: SqlHistoryStore,
) -> None:
    store.append(
        [materialization(3, run="lonely", asset="a"), materialization(4, run="lonely", asset="b")]
    )
    (run,) = store.runs("data").items
    assert (run.run, run.phase, run.created) == ("lonely", None, at(3))
    assert store.get_run("data", "lonely").assets == ("a", "b")  # type: ignore[union-attr]


def test_the_runs_page_filters_by_graph_asset_phase_launcher_and_time(
    store: SqlHistoryStore,
) -> None:
    for n in range(40):
        store.append(
            run_events(
                f"run-{n:02d}",
                start=n * 10,
                phase=("Succeeded", "Failed", "Running", "Canceled")[n % 4],
                graph="shop" if n % 2 == 0 else "ads",
                launched_by="schedule:daily" if n % 5 == 0 else "cli",
                assets=("raw/orders",) if n % 3 == 0 else ("raw/clicks",),
            )
        )

    def names(filters: RunFilter, limit: int = 7) -> list[str]:
        seen, _ = _all_pages(
            lambda limit, cursor: store.runs("data", filters, limit=limit, cursor=cursor), limit
        )
        return [run.run for run in seen]

    everything = names(RunFilter())
    assert everything == [f"run-{n:02d}" for n in range(39, -1, -1)]
    expected = {
        RunFilter(graph="ads"): [n for n in range(40) if n % 2],
        RunFilter(phases=("Failed", "Canceled")): [n for n in range(40) if n % 4 in (1, 3)],
        RunFilter(launched_by="schedule:daily"): [n for n in range(40) if n % 5 == 0],
        RunFilter(asset="raw/orders"): [n for n in range(40) if n % 3 == 0],
        RunFilter(since=at(100), until=at(200)): list(range(10, 20)),
        RunFilter(graph="shop", asset="raw/orders", phases=("Succeeded",)): [
            n for n in range(40) if n % 12 == 0
        ],
    }
    for filters, numbers in expected.items():
        assert names(filters) == [f"run-{n:02d}" for n in sorted(numbers, reverse=True)], filters
    assert names(RunFilter(graph="nope")) == []


def test_runs_are_listed_per_namespace_or_across_all(store: SqlHistoryStore) -> None:
    store.append(run_events("a", start=1, namespace="one"))
    store.append(run_events("b", start=2, namespace="two"))
    assert [r.run for r in store.runs("one").items] == ["a"]
    assert [r.run for r in store.runs(None).items] == ["b", "a"]


def test_ticks_of_a_schedule_read_newest_first(store: SqlHistoryStore) -> None:
    store.append(
        [
            tick_event(
                kind=SCHEDULE_TICK,
                namespace="data",
                graph="shop",
                name="daily",
                tick=at(n * 60),
                timestamp=at(n * 60 + 1),
                run=f"daily-{n}",
            )
            for n in range(5)
        ]
    )
    page = store.named_events("data", "shop", SCHEDULE_TICK, "daily", limit=2)
    assert [s.event.run for s in page.items] == ["daily-4", "daily-3"]
    assert page.next_cursor is not None


def test_search_finds_assets_and_runs_by_any_part_of_their_names(
    store: SqlHistoryStore,
) -> None:
    store.append(
        [materialization(1, asset="raw/Orders"), materialization(2, asset="marts/revenue")]
    )
    store.append(run_events("nightly-orders-1", start=5))
    store.append(run_events("adhoc_100%", start=6, graph="ads"))
    found = store.search("data", "ORDERS")
    assert [a.asset for a in found.assets] == ["raw/Orders"]
    assert [r.run for r in found.runs] == ["nightly-orders-1"]
    assert [r.run for r in store.search("data", "%").runs] == ["adhoc_100%"]
    assert [r.run for r in store.search("data", "ads").runs] == ["adhoc_100%"]
    assert store.search("elsewhere", "orders").assets == []


def test_search_finds_old_runs_by_the_start_of_their_name_and_recent_ones_by_any_part(
    store: SqlHistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kasset.history import queries

    monkeypatch.setattr(queries, "SEARCH_SCAN_RUNS", 3)
    for n in range(6):
        store.append(run_events(f"backfill-{n}", start=n * 10))
    assert [r.run for r in store.search("data", "Backfill-1").runs] == ["backfill-1"]
    assert [r.run for r in store.search("data", "fill-").runs] == [
        "backfill-5", "backfill-4", "backfill-3",
    ]  # fmt: skip
    assert [r.run for r in store.search("data", "backfill").runs] == [
        f"backfill-{n}" for n in range(5, -1, -1)
    ]


def test_the_numeric_keys_of_an_asset_are_listed_once_each(store: SqlHistoryStore) -> None:
    store.append([materialization(1, metadata={"rows": 1, "bytes": 2})])
    store.append([materialization(2, metadata={"rows": 3, "label": "x"})])
    store.append([materialization(3, asset="other", metadata={"seconds": 1.5})])
    assert store.metadata_keys("data", "shop", "raw/orders") == ["bytes", "rows"]
    assert store.metadata_keys("data", "shop", "other") == ["seconds"]


@pytest.mark.parametrize("cursor", ["!!!", "bm90LWEtY3Vyc29y", ""])
def test_a_malformed_cursor_is_a_clear_error(store: SqlHistoryStore, cursor: str) -> None:
    with pytest.raises(HistoryError, match="malformed page cursor"):
        store.runs("data", cursor=cursor)


def test_a_page_size_out_of_bounds_is_a_clear_error(store: SqlHistoryStore) -> None:
    with pytest.raises(HistoryError, match=r"page size must be 1\.\.1000"):
        store.asset_events("data", "shop", "a", [MATERIALIZED], limit=0)
