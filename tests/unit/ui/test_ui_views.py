"""Pure view models: timelines, history, partition grids, launches, re-runs, schedules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ui_testkit import NOW, NS, demo_backend

from kasset.resources import PartitionSelection
from kasset.ui.backend import InvalidRequestError
from kasset.ui.launching import new_run_name, partition_keys, partition_selection, rerun_request
from kasset.ui.model import graph_of
from kasset.ui.schedules import next_ticks, schedule_views
from kasset.ui.views import asset_history, duration_text, partition_grid, run_row, timeline


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.42, "0.4s"), (12, "12s"), (185, "3m05s"), (7440, "2h04m"), (None, "")]
)
def test_durations_read_naturally(seconds: float | None, text: str) -> None:
    assert duration_text(seconds) == text


def test_the_timeline_places_steps_on_the_run_span() -> None:
    run = demo_backend().run(NS, "run-failed")
    chart = timeline(run, NOW)
    assert chart.span_seconds == 300.0
    first = chart.rows[0]
    assert first.key == "raw/orders[2024-01-05]" and first.partition == "2024-01-05"
    assert first.offset == pytest.approx(0.2) and first.width == pytest.approx(0.6)
    assert first.pod is not None and first.pod.startswith("run-failed-raw-orders-2024-01-05-2-")
    assert chart.rows[1].width == 0.0  # skipped: never started
    assert [label for _, label in chart.ticks] == ["0.0s", "1m15s", "2m30s", "3m45s", "5m00s"]


def test_a_running_step_extends_to_now() -> None:
    run = demo_backend().run(NS, "run-live")
    row = timeline(run, NOW).rows[0]
    assert row.offset == 0.0 and row.width == pytest.approx(1.0)
    assert run_row(run, NOW).duration == "1m00s"


def test_asset_history_comes_from_the_runs_steps() -> None:
    runs = demo_backend().runs(NS, "shop")
    history = asset_history("raw/orders", runs)
    assert [(h.run, h.phase) for h in history] == [
        ("run-failed", "Failed"),
        ("run-ok", "Succeeded"),
    ]
    assert history[0].message == "ValueError: bad row"
    assert history[1].partitions == "2024-01-01..2024-01-03"


def test_the_partition_grid_marks_materialized_failed_and_missing() -> None:
    asset = next(a for a in demo_backend().assets() if a.spec.key == "raw/orders")
    grid = partition_grid(asset, datetime(2030, 1, 1, tzinfo=UTC))
    assert grid is not None
    assert grid.counts == {"materialized": 3, "failed": 1, "missing": 6}
    assert grid.cells[4] == ("2024-01-05", "failed") and (grid.first, grid.last) == (
        "2024-01-01",
        "2024-01-10",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01", PartitionSelection(keys=["2024-01-01"])),
        (" a , b,a ", PartitionSelection(keys=["a", "b"])),
        (
            "2024-01-01..2024-01-07",
            PartitionSelection.model_validate(
                {"range": {"start": "2024-01-01", "end": "2024-01-07"}}
            ),
        ),
        ("", None),
    ],
)
def test_partition_text_becomes_a_selection(text: str, expected: PartitionSelection | None) -> None:
    assert partition_selection(text) == expected


@pytest.mark.parametrize("text", ["a..b,c", "bad key", "x[1]"])
def test_malformed_partition_text_is_refused(text: str) -> None:
    with pytest.raises(InvalidRequestError):
        partition_selection(text)


def test_partition_ranges_expand_over_the_selected_assets() -> None:
    graph = graph_of(demo_backend().graph(NS, "shop"))
    chosen = partition_selection("2024-01-02..2024-01-04")
    assert partition_keys(graph, "raw/orders", chosen) == ["2024-01-02", "2024-01-03", "2024-01-04"]


def test_rerun_without_failures_is_refused() -> None:
    backend = demo_backend()
    with pytest.raises(InvalidRequestError, match="no failed steps"):
        rerun_request(backend.run(NS, "run-ok"), graph_of(backend.graph(NS, "shop")))


def test_run_names_fit_kubernetes() -> None:
    name = new_run_name("g" * 80, NOW, "beef")
    assert len(name) <= 63 and name.endswith("-beef") and "-ui-" in name


def test_schedules_show_their_next_ticks_soonest_first() -> None:
    after = datetime(2024, 1, 1, 3, 0, tzinfo=UTC)
    assert next_ticks("@daily", "UTC", after, 2) == [
        datetime(2024, 1, 2, tzinfo=UTC),
        datetime(2024, 1, 3, tzinfo=UTC),
    ]
    views = schedule_views(demo_backend().graphs(), after)
    assert views[0].next_ticks[0] == datetime(2024, 1, 2, 2, 0, tzinfo=UTC)
