"""Schedule ticks: deterministic run names, the closed partition, the missed window."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from fake_cluster import graph_body
from operator_fakes import FakeKube

from kasset import naming
from kasset.definitions.schedule import ScheduleDefinition
from kasset.operator.assets.schedules import ScheduleLoop, due_ticks, scheduled_run
from kasset.operator.model.graphs import snapshot_from_body
from kasset.operator.telemetry.sink import NullMetrics

NIGHTLY = ScheduleDefinition("nightly", "0 2 * * *")


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2024, 1, day, hour, minute, tzinfo=UTC)


def test_a_due_tick_fires_once() -> None:
    plan = due_ticks(NIGHTLY, at(1, 12), at(2, 2, 0), missed_window=3600)
    assert plan.fire == [at(2, 2)] and plan.missed == 0
    assert plan.next_tick == at(3, 2)
    assert due_ticks(NIGHTLY, at(2, 2), at(2, 3), 3600).fire == []


def test_ticks_older_than_the_missed_window_are_skipped_and_counted() -> None:
    plan = due_ticks(NIGHTLY, at(1, 12), at(5, 2, 30), missed_window=3600)
    assert plan.fire == [at(5, 2)]
    assert plan.missed == 3  # the 2nd, 3rd and 4th


def test_a_tick_creates_a_deterministic_run_of_the_partition_that_closed() -> None:
    body = graph_body(
        assets=[{"key": "events", "partitions": "daily"}],
        partitionsDefinitions=[{"name": "daily", "type": "daily", "start": "2023-01-01"}],
        schedules=[{"name": "nightly", "cron": "0 2 * * *"}],
    )
    body["metadata"]["uid"] = "u"
    snapshot = snapshot_from_body(body)
    run = scheduled_run(snapshot, NIGHTLY, at(2, 2))
    assert run["metadata"]["name"] == naming.schedule_run_name("g", "nightly", at(2, 2))
    assert run["spec"]["partitions"] == {"keys": ["2024-01-01"]}
    assert run["spec"]["launchedBy"] == "schedule:nightly"
    assert scheduled_run(snapshot, NIGHTLY, at(2, 2)) == run


def test_the_loop_fires_due_ticks_and_a_restart_does_not_fire_twice() -> None:
    async def scenario() -> None:
        now = [at(2, 1, 59).timestamp()]
        kube = FakeKube(clock=lambda: now[0])
        body = graph_body(schedules=[{"name": "nightly", "cron": "0 2 * * *"}])
        body["metadata"]["uid"] = "u"
        snapshot = snapshot_from_body(body)
        kube.put("assetgraphs", body)

        def loop() -> ScheduleLoop:
            return ScheduleLoop(kube, lambda: [snapshot], NullMetrics(), 3600, clock=lambda: now[0])

        first = loop()
        assert await first.run_once() == at(2, 2)
        now[0] += 120
        await first.run_once()
        runs = [k for k in kube.objects if k[0] == "materializations"]
        assert len(runs) == 1
        status = kube.status_of("assetgraphs", "g")["schedules"][0]
        assert status["lastRun"] == runs[0][2] and status["missedTicks"] == 0
        # A restarted operator reads lastTick from the status: nothing fires again.
        second = loop()
        second.graph_status("default", "g", kube.status_of("assetgraphs", "g")["schedules"])
        await second.run_once()
        assert len([k for k in kube.objects if k[0] == "materializations"]) == 1
        now[0] += timedelta(days=3).total_seconds()
        await second.run_once()
        assert kube.status_of("assetgraphs", "g")["schedules"][0]["missedTicks"] == 2

    asyncio.run(scenario())
