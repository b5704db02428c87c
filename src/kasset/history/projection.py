"""The rows a batch of events adds to the store: the event rows and their projections
(runs, run assets, numeric series, the asset catalog). Pure, and folded per batch, so
one statement never touches a row twice (PostgreSQL refuses that in an upsert).

Every projection is idempotent and order-independent: a run's row takes its fields from
the newest run-phase event (by time) and its creation from the oldest event of the run,
whatever order the events arrive in and however often.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kasset.history.events import (
    ASSET_KINDS,
    FINISHED_RUN_PHASES,
    RUN_PHASE_KINDS,
    HistoryEvent,
    numeric_metadata,
)
from kasset.history.schema import to_micros

__all__ = ["NO_PHASE_TS", "RUN_FIELDS", "Rows", "merge_run_rows", "project"]

NO_PHASE_TS = -1
RUN_FIELDS = ("phase", "launched_by", "selection", "partitions", "message", "ended_ts")
"""The run fields the newest run-phase event decides."""


@dataclass(slots=True)
class Rows:
    events: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    run_assets: list[dict[str, Any]] = field(default_factory=list)
    series: list[dict[str, Any]] = field(default_factory=list)
    series_keys: list[dict[str, Any]] = field(default_factory=list)
    assets: list[dict[str, Any]] = field(default_factory=list)


def project(events: Sequence[HistoryEvent]) -> Rows:
    """The rows of `events` (assumed unique by id)."""
    rows = Rows()
    runs: dict[tuple[str, str], dict[str, Any]] = {}
    run_assets: set[tuple[str, str, str]] = set()
    catalog: dict[tuple[str, str, str], int] = {}
    for event in events:
        ts = to_micros(event.timestamp)
        rows.events.append(_event_row(event, ts))
        if event.run is not None:
            row = _run_row(event, ts)
            key = (event.namespace, event.run)
            runs[key] = merge_run_rows(runs[key], row) if key in runs else row
            for asset in _run_assets_of(event):
                run_assets.add((event.namespace, event.run, asset))
        if event.asset is not None:
            key3 = (event.namespace, event.graph, event.asset)
            catalog[key3] = max(ts, catalog.get(key3, ts))
            if event.kind in ASSET_KINDS:
                rows.series.extend(_series_rows(event, ts))
    keys = sorted({(r["namespace"], r["graph"], r["asset"], r["key"]) for r in rows.series})
    rows.series_keys = [{"namespace": n, "graph": g, "asset": a, "key": k} for n, g, a, k in keys]
    rows.runs = list(runs.values())
    rows.run_assets = [{"namespace": n, "run": r, "asset": a} for n, r, a in sorted(run_assets)]
    rows.assets = [
        {"namespace": n, "graph": g, "asset": a, "last_ts": ts}
        for (n, g, a), ts in sorted(catalog.items())
    ]
    return rows


def merge_run_rows(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Two rows of one run as one: the newer phase event's fields (the older's where the
    newer says nothing), the earliest creation. Mirrors the store's upsert."""
    newer, older = (new, old) if new["updated_ts"] >= old["updated_ts"] else (old, new)
    merged = dict(newer)
    merged["created_ts"] = min(old["created_ts"], new["created_ts"])
    for name in RUN_FIELDS:
        if merged[name] is None:
            merged[name] = older[name]
    return merged


def _event_row(event: HistoryEvent, ts: int) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "kind": event.kind,
        "namespace": event.namespace,
        "graph": event.graph,
        "ts": ts,
        "run": event.run,
        "step": event.step,
        "asset": event.asset,
        "partition": event.partition,
        "attempt": event.attempt,
        "name": event.name,
        "payload": _without_nul(dict(event.payload)),
    }


def _run_row(event: HistoryEvent, ts: int) -> dict[str, Any]:
    row: dict[str, Any] = {
        "namespace": event.namespace,
        "run": event.run,
        "graph": event.graph,
        "created_ts": ts,
        "updated_ts": NO_PHASE_TS,
        **dict.fromkeys(RUN_FIELDS),
    }
    if event.kind in RUN_PHASE_KINDS:
        payload = event.payload
        phase = payload.get("phase")
        row.update(
            updated_ts=ts,
            phase=phase,
            launched_by=_text(payload.get("launchedBy")),
            selection=_text(payload.get("selection")),
            partitions=_text(payload.get("partitions")),
            message=_text(payload.get("message")),
            ended_ts=ts if phase in FINISHED_RUN_PHASES else None,
        )
    return row


def _run_assets_of(event: HistoryEvent) -> Iterable[str]:
    if event.asset is not None:
        yield event.asset
    if event.kind in RUN_PHASE_KINDS:
        listed = event.payload.get("assets")
        if isinstance(listed, list):
            yield from (asset for asset in listed if isinstance(asset, str))


def _series_rows(event: HistoryEvent, ts: int) -> Iterable[dict[str, Any]]:
    for key, value in numeric_metadata(event.payload).items():
        yield {
            "event_id": event.id,
            "key": key,
            "namespace": event.namespace,
            "graph": event.graph,
            "asset": event.asset,
            "partition": event.partition,
            "run": event.run,
            "ts": ts,
            "value": value,
        }


def _without_nul(value: Any) -> Any:
    """`value` with NUL characters replaced by U+FFFD: PostgreSQL's JSONB and text
    cannot hold them, and a user's metadata may (SQLite gets the same, so the backends
    agree)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
