"""The rows a batch of events adds: a run's row is the same whatever order its events
come in, and one batch never holds two rows for one run or one asset."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from kasset.history import HistoryEvent, run_phase_event
from kasset.history.projection import NO_PHASE_TS, merge_run_rows, project

T = datetime(2026, 1, 1, tzinfo=UTC)


def _run_events() -> list[HistoryEvent]:
    def phase(name: str, second: int, **extra: str) -> HistoryEvent:
        return run_phase_event(namespace="n", graph="g", run="r", phase=name,
                               timestamp=T + timedelta(seconds=second), **extra)  # fmt: skip

    step = HistoryEvent(id="m", kind="ASSET_MATERIALIZED", namespace="n", graph="g",
                        timestamp=T + timedelta(seconds=1), run="r", asset="a",
                        payload={"metadata": {"rows": 5}})  # fmt: skip
    return [
        phase("Pending", 0, launched_by="ui:alice", selection="a+"),
        phase("Running", 1),
        step,
        phase("Failed", 2, message="step a failed"),
    ]


def test_a_runs_row_is_the_same_in_any_order_of_its_events() -> None:
    rows = set()
    for order in itertools.permutations(_run_events()):
        projected = project(list(order))
        assert len(projected.runs) == 1
        rows.add(tuple(sorted(projected.runs[0].items())))
    (row,) = rows
    as_dict = dict(row)
    assert as_dict["phase"] == "Failed"
    assert as_dict["launched_by"] == "ui:alice"
    assert as_dict["selection"] == "a+"
    assert as_dict["message"] == "step a failed"
    assert as_dict["created_ts"] < as_dict["ended_ts"] == as_dict["updated_ts"]


def test_merging_rows_one_by_one_matches_projecting_them_together() -> None:
    events = _run_events()
    one_by_one = project(events[:1]).runs[0]
    for event in events[1:]:
        one_by_one = merge_run_rows(one_by_one, project([event]).runs[0])
    assert one_by_one == project(events).runs[0]


def test_a_batch_has_one_catalog_row_per_asset_and_the_newest_time() -> None:
    rows = project(_run_events())
    assert [(r["asset"], r["last_ts"]) for r in rows.assets] == [("a", rows.events[2]["ts"])]
    assert rows.run_assets == [{"namespace": "n", "run": "r", "asset": "a"}]
    assert [(s["key"], s["value"]) for s in rows.series] == [("rows", 5.0)]


def test_a_step_event_alone_makes_a_run_row_without_a_phase() -> None:
    (row,) = project(_run_events()[2:3]).runs
    assert (row["phase"], row["updated_ts"]) == (None, NO_PHASE_TS)
