"""Retention on both backends: by age and by count, per installation and per graph; a
run goes whole (its events, series and asset links), running runs stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from history_builders import at, materialization, run_events

from kasset.errors import HistoryError
from kasset.history import (
    MATERIALIZED,
    SCHEDULE_TICK,
    RetentionPolicy,
    RetentionRules,
    RunFilter,
    tick_event,
)
from kasset.history.schema import events, metadata_series, run_assets
from kasset.history.store import SqlHistoryStore

DAY = 86_400


def _runs(store: SqlHistoryStore, graph: str) -> list[str]:
    return [r.run for r in store.runs("data", RunFilter(graph=graph), limit=1000).items]


def _count(store: SqlHistoryStore, table: sa.Table) -> int:
    with store.engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _add_run(store: SqlHistoryStore, name: str, start: float, graph: str = "shop",
             phase: str = "Succeeded") -> None:  # fmt: skip
    store.append(run_events(name, start=start, graph=graph, phase=phase))
    event = materialization(int(start) + 1, run=name, graph=graph)
    store.append([event])


def test_keeping_n_runs_deletes_the_oldest_with_everything_they_wrote(
    store: SqlHistoryStore,
) -> None:
    for n in range(10):
        _add_run(store, f"run-{n}", start=n * 10)
    report = store.enforce_retention(RetentionRules(RetentionPolicy(runs=4)), at(1000))
    assert (report.runs, report.more) == (6, False)
    assert _runs(store, "shop") == ["run-9", "run-8", "run-7", "run-6"]
    assert report.events == 6 * 4  # three phase events and a materialization each
    assert _count(store, events) == 4 * 4
    assert _count(store, metadata_series) == 4
    assert _count(store, run_assets) == 4
    assert len(store.asset_events("data", "shop", "raw/orders", [MATERIALIZED]).items) == 4


def test_keeping_days_deletes_runs_older_than_that(store: SqlHistoryStore) -> None:
    for day in range(5):
        _add_run(store, f"day-{day}", start=day * DAY)
    now = at(4 * DAY + 10)
    report = store.enforce_retention(RetentionRules(RetentionPolicy(days=2.5)), now)
    assert report.runs == 2  # the cutoff is day 1.5
    assert _runs(store, "shop") == ["day-4", "day-3", "day-2"]


def test_a_graph_overrides_the_installations_policy(store: SqlHistoryStore) -> None:
    for n in range(6):
        _add_run(store, f"shop-{n}", start=n * 10, graph="shop")
        _add_run(store, f"ads-{n}", start=n * 10 + 1, graph="ads")
    rules = RetentionRules(
        RetentionPolicy(runs=2), graphs={("data", "ads"): RetentionPolicy(runs=5)}
    )
    store.enforce_retention(rules, at(1000))
    assert _runs(store, "shop") == ["shop-5", "shop-4"]
    assert _runs(store, "ads") == [f"ads-{n}" for n in range(5, 0, -1)]


def test_running_runs_are_not_deleted_by_count(store: SqlHistoryStore) -> None:
    _add_run(store, "old-but-running", start=0, phase="Running")
    for n in range(1, 4):
        _add_run(store, f"run-{n}", start=n * 10)
    store.enforce_retention(RetentionRules(RetentionPolicy(runs=1)), at(1000))
    assert _runs(store, "shop") == ["run-3", "old-but-running"]


def test_ticks_are_kept_by_count_per_schedule_and_by_age(store: SqlHistoryStore) -> None:
    for name in ("daily", "hourly"):
        store.append(
            [
                tick_event(
                    kind=SCHEDULE_TICK,
                    namespace="data",
                    graph="shop",
                    name=name,
                    tick=at(n * DAY),
                    timestamp=at(n * DAY),
                )
                for n in range(6)
            ]
        )
    store.enforce_retention(RetentionRules(RetentionPolicy(runs=4)), at(6 * DAY))
    for name in ("daily", "hourly"):
        page = store.named_events("data", "shop", SCHEDULE_TICK, name, limit=100)
        assert [s.event.timestamp for s in page.items] == [at(n * DAY) for n in (5, 4, 3, 2)]
    store.enforce_retention(RetentionRules(RetentionPolicy(days=2.5)), at(6 * DAY))
    page = store.named_events("data", "shop", SCHEDULE_TICK, "daily", limit=100)
    assert [s.event.timestamp for s in page.items] == [at(5 * DAY), at(4 * DAY)]


def test_no_policy_deletes_nothing(store: SqlHistoryStore) -> None:
    for n in range(3):
        _add_run(store, f"run-{n}", start=n)
    report = store.enforce_retention(RetentionRules(), at(10 * 365 * DAY))
    assert (report.runs, report.events) == (0, 0)
    assert len(_runs(store, "shop")) == 3


def test_a_large_backlog_is_deleted_over_several_calls(
    store: SqlHistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kasset.history import pruning

    monkeypatch.setattr(pruning, "BATCH", 5)
    monkeypatch.setattr(pruning, "MAX_BATCHES", 2)
    store.append([e for n in range(30) for e in run_events(f"r{n:02d}", start=n)])
    rules = RetentionRules(RetentionPolicy(runs=3))
    reports = []
    while not reports or reports[-1].more:
        reports.append(store.enforce_retention(rules, at(1000)))
        assert len(reports) < 10
    assert [r.runs for r in reports] == [10, 10, 7]
    assert _runs(store, "shop") == ["r29", "r28", "r27"]


@pytest.mark.parametrize(("days", "runs"), [(0, None), (-1.0, None), (None, 0)])
def test_a_policy_out_of_bounds_is_a_clear_error(days: float | None, runs: int | None) -> None:
    with pytest.raises(HistoryError, match="retention"):
        RetentionPolicy(days=days, runs=runs)


def test_the_cutoff_is_now_minus_the_days() -> None:
    assert RetentionPolicy(days=1.5).cutoff(at(DAY * 2)) == at(DAY * 2) - timedelta(hours=36)
    assert RetentionPolicy(runs=3).cutoff(at(0)) is None
