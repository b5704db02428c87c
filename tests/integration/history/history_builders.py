"""Events for the history store's tests: materializations numbered by time, and the
phase events of whole runs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from kasset.history import HistoryEvent, run_phase_event

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def materialization(
    number: int,
    *,
    asset: str = "raw/orders",
    run: str | None = None,
    graph: str = "shop",
    namespace: str = "data",
    partition: str | None = None,
    metadata: dict[str, Any] | None = None,
    kind: str = "ASSET_MATERIALIZED",
) -> HistoryEvent:
    return HistoryEvent(
        id=f"{kind}-{namespace}-{graph}-{asset}-{number}",
        kind=kind,
        namespace=namespace,
        graph=graph,
        timestamp=at(number),
        run=run or f"run-{number}",
        step=asset if partition is None else f"{asset}[{partition}]",
        asset=asset,
        partition=partition,
        attempt=1,
        payload={"metadata": metadata if metadata is not None else {"rows": number}},
    )


def run_events(
    run: str,
    *,
    start: float,
    phase: str = "Succeeded",
    graph: str = "shop",
    namespace: str = "data",
    launched_by: str = "cli",
    assets: tuple[str, ...] = ("raw/orders",),
) -> list[HistoryEvent]:
    made: Callable[..., HistoryEvent] = run_phase_event
    events = [
        made(namespace=namespace, graph=graph, run=run, phase="Pending",
             timestamp=at(start), launched_by=launched_by, selection="*", assets=assets),
        made(namespace=namespace, graph=graph, run=run, phase="Running",
             timestamp=at(start + 1), launched_by=launched_by),
    ]  # fmt: skip
    if phase != "Running":
        events.append(
            made(namespace=namespace, graph=graph, run=run, phase=phase,
                 timestamp=at(start + 2), launched_by=launched_by, message=f"{phase} at last")
        )  # fmt: skip
    return events
