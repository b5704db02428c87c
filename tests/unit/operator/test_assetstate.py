"""Merging an Asset's stored status and a resumed run's replays into what the operator
knows (pure): the newer record wins, partitions are joined, a replay never displaces the
same run or a newer one."""

from __future__ import annotations

from fake_cluster import asset, graph_body

from kasset.definitions.keys import AssetKey
from kasset.operator.model.assetstate import (
    AssetEntry,
    apply_replays,
    build_asset_status,
    merge_stored,
)
from kasset.operator.model.graphs import snapshot_from_body

GRAPH = snapshot_from_body(graph_body(assets=[asset("a")]))


def entry() -> AssetEntry:
    return AssetEntry("default", GRAPH, AssetKey.from_string("a"))


def record(run: str, time: str) -> dict[str, str]:
    return {"run": run, "time": f"2026-01-01T00:00:{time}.000000Z"}


def test_the_newer_of_memory_and_the_stored_status_wins() -> None:
    fresh = entry()
    fresh.latest = record("r2", "30")
    merge_stored(fresh, {"latest": record("r1", "10")})
    assert fresh.latest == record("r2", "30")
    older = entry()
    older.latest = record("r1", "10")
    merge_stored(older, {"latest": record("r2", "30"), "lastFailure": record("r0", "05")})
    assert older.latest == record("r2", "30")
    assert older.last_failure == record("r0", "05")


def test_a_replay_fills_a_lost_record() -> None:
    lost = entry()
    lost.replayed_latest = record("r1", "10")
    merge_stored(lost, {})
    assert lost.latest == record("r1", "10")
    assert build_asset_status(lost, 0)["health"] == "Fresh"


def test_a_replay_never_displaces_the_same_run_or_a_newer_one() -> None:
    same = entry()
    same.replayed_latest = record("r1", "50")  # the run's end time: later than its event
    merge_stored(same, {"latest": {**record("r1", "40"), "dataVersion": "v7"}})
    assert same.latest == {**record("r1", "40"), "dataVersion": "v7"}
    newer = entry()
    newer.latest = record("r2", "59")
    newer.replayed_latest = record("r1", "50")
    apply_replays(newer)
    assert newer.latest == record("r2", "59")
    assert newer.replayed_latest is None


def test_a_replayed_materialization_clears_stale() -> None:
    stale = entry()
    merge_stored(stale, {"latest": record("r0", "01"), "health": "Stale"})
    assert stale.stale
    stale.replayed_latest = record("r1", "10")
    apply_replays(stale)
    assert not stale.stale and build_asset_status(stale, 0)["health"] == "Fresh"
