"""What the history store keeps: `HistoryEvent`, one immutable record per thing that
happened, and the builders that turn what the operator folds into one.

Pure (no database library), so the operator can build events on its hot path and hand
them to the writer without importing SQLAlchemy. Ids are what makes appending
idempotent: a step's events keep the runtime's uuid; the events the operator makes up
itself (run phases, ticks, evaluations) get a uuid5 of what identifies them, so folding
the same transition twice, say after a restart, stores it once.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from kasset.errors import HistoryError

if TYPE_CHECKING:
    from kasset.runtime.events import Event
    from kasset.runtime.records import EventRecord

__all__ = [
    "ASSET_KINDS",
    "AUTOMATION_EVALUATED",
    "CHECK_EVALUATED",
    "FINISHED_RUN_PHASES",
    "MATERIALIZED",
    "OBSERVED",
    "RUN_PHASE_KINDS",
    "SCHEDULE_TICK",
    "SENSOR_TICK",
    "STEP_KINDS",
    "HistoryEvent",
    "automation_evaluation",
    "from_step_event",
    "numeric_metadata",
    "run_phase_event",
    "run_phase_kind",
    "tick_event",
]

MATERIALIZED: Final = "ASSET_MATERIALIZED"
OBSERVED: Final = "ASSET_OBSERVED"
CHECK_EVALUATED: Final = "ASSET_CHECK_EVALUATED"
STEP_KINDS: Final = frozenset(
    {"STEP_STARTED", MATERIALIZED, OBSERVED, CHECK_EVALUATED, "STEP_SUCCEEDED", "STEP_FAILED"}
)
ASSET_KINDS: Final = frozenset({MATERIALIZED, OBSERVED})
"""Kinds whose numeric metadata becomes a plottable series."""
RUN_PHASES: Final = ("Pending", "Running", "Succeeded", "Failed", "Canceled")
FINISHED_RUN_PHASES: Final = frozenset({"Succeeded", "Failed", "Canceled"})
RUN_PHASE_KINDS: Final = frozenset(f"RUN_{phase.upper()}" for phase in RUN_PHASES)
SCHEDULE_TICK: Final = "SCHEDULE_TICK"
SENSOR_TICK: Final = "SENSOR_TICK"
AUTOMATION_EVALUATED: Final = "AUTOMATION_EVALUATED"
MAX_KIND = 64
_IDS = uuid.UUID("6d1c2d1e-8f5e-4a57-9a43-5a55e7a4c0de")  # the uuid5 namespace of our ids


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One event, keyed by namespace, graph, asset, partition and run (each may be
    absent: a tick has no run, a run phase no asset). `name` is the check's name for a
    check evaluation, the schedule's or sensor's for a tick. `payload` is JSON."""

    id: str
    kind: str
    namespace: str
    graph: str
    timestamp: datetime
    run: str | None = None
    step: str | None = None
    asset: str | None = None
    partition: str | None = None
    attempt: int | None = None
    name: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id or not self.kind or len(self.kind) > MAX_KIND:
            raise HistoryError(f"history event needs an id and a kind (got {self.kind!r})")
        if not self.namespace or not self.graph:
            raise HistoryError(f"history event {self.id} needs a namespace and a graph")
        if self.timestamp.tzinfo is None:
            raise HistoryError(f"history event {self.id} has a naive timestamp")


def from_step_event(event: Event | EventRecord, *, namespace: str, graph: str) -> HistoryEvent:
    """A step's event (as ingested from its pod) as a history event, metadata whole."""
    wire: dict[str, Any] = event.to_dict()  # camelCase JSON, one form for both types
    payload = {k: v for k, v in wire["payload"].items() if v is not None}
    check = payload.get("check")
    return HistoryEvent(
        id=event.id,
        kind=event.type,
        namespace=namespace,
        graph=graph,
        timestamp=event.timestamp.astimezone(UTC),
        run=event.run,
        step=event.step,
        asset=event.asset,
        partition=event.partition,
        attempt=event.attempt,
        name=check["name"] if isinstance(check, Mapping) else None,
        payload=payload,
    )


def run_phase_kind(phase: str) -> str:
    """`RUN_SUCCEEDED` for phase `Succeeded`."""
    if phase not in RUN_PHASES:
        raise HistoryError(f"unknown run phase {phase!r} (one of {', '.join(RUN_PHASES)})")
    return f"RUN_{phase.upper()}"


def run_phase_event(
    *,
    namespace: str,
    graph: str,
    run: str,
    phase: str,
    timestamp: datetime,
    launched_by: str | None = None,
    selection: str | None = None,
    partitions: str | None = None,
    message: str | None = None,
    assets: tuple[str, ...] = (),
    uid: str = "",
) -> HistoryEvent:
    """A run entering `phase`; it carries the run's summary, so the runs table is a
    projection of these (the latest by time wins). `assets` are the selected keys; `uid`
    (the Materialization's metadata.uid) tells apart two runs given the same name."""
    payload: dict[str, Any] = {"phase": phase}
    for key, value in (
        ("launchedBy", launched_by),
        ("selection", selection),
        ("partitions", partitions),
        ("message", message),
    ):
        if value is not None:
            payload[key] = value
    if assets:
        payload["assets"] = sorted(set(assets))
    return HistoryEvent(
        id=_made_up_id("run", namespace, run, uid, phase),
        kind=run_phase_kind(phase),
        namespace=namespace,
        graph=graph,
        timestamp=timestamp,
        run=run,
        payload=payload,
    )


def tick_event(
    *,
    kind: str,
    namespace: str,
    graph: str,
    name: str,
    tick: datetime,
    timestamp: datetime,
    run: str | None = None,
    payload: Mapping[str, Any] | None = None,
) -> HistoryEvent:
    """A schedule's (`SCHEDULE_TICK`) or sensor's (`SENSOR_TICK`) tick at `tick`, with
    the run it launched if any (`payload` says why not: skipped, missed, failed)."""
    if kind not in (SCHEDULE_TICK, SENSOR_TICK):
        raise HistoryError(f"a tick is {SCHEDULE_TICK} or {SENSOR_TICK}, not {kind!r}")
    return HistoryEvent(
        id=_made_up_id(kind, namespace, graph, name, tick.astimezone(UTC).isoformat()),
        kind=kind,
        namespace=namespace,
        graph=graph,
        timestamp=timestamp,
        run=run,
        name=name,
        payload={"tick": tick.astimezone(UTC).isoformat(), **(payload or {})},
    )


def automation_evaluation(
    *,
    namespace: str,
    graph: str,
    asset: str,
    timestamp: datetime,
    requested: bool,
    partition: str | None = None,
    run: str | None = None,
    payload: Mapping[str, Any] | None = None,
) -> HistoryEvent:
    """One evaluation of an asset's automation condition (`payload`: the condition tree's
    results), with the run it requested if any."""
    return HistoryEvent(
        id=_made_up_id(
            AUTOMATION_EVALUATED, namespace, graph, asset, partition or "", timestamp.isoformat()
        ),
        kind=AUTOMATION_EVALUATED,
        namespace=namespace,
        graph=graph,
        timestamp=timestamp,
        run=run,
        asset=asset,
        partition=partition,
        payload={"requested": requested, **(payload or {})},
    )


def numeric_metadata(payload: Mapping[str, Any]) -> dict[str, float]:
    """The finite numbers in an event's metadata, by key: plain ints and floats, and
    typed entries such as `{"type": "int", "value": 3}`; booleans are not numbers here.

    >>> numeric_metadata({"metadata": {"rows": 3, "ok": True, "f": {"type": "float", "value": 1}}})
    {'rows': 3.0, 'f': 1.0}
    """
    metadata = payload.get("metadata")
    if not isinstance(metadata, Mapping):
        return {}
    numbers: dict[str, float] = {}
    for key, value in metadata.items():
        raw = value.get("value") if isinstance(value, Mapping) else value
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            continue
        number = float(raw)
        if math.isfinite(number):
            numbers[str(key)] = number
    return numbers


def _made_up_id(*parts: str) -> str:
    return str(uuid.uuid5(_IDS, "\x1f".join(parts)))
