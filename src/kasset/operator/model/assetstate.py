"""What an Asset's status says, decided without I/O: the entry the operator keeps per
asset, the status built from it, and how a status read back from the API server (after a
restart) and the records a resumed run replays are merged into it.

Health, kept simple on purpose: Missing (never materialized), Failed (the latest
step failed, or an ERROR check failed on the latest materialization), Stale (a direct
upstream materialized in a run that did not rematerialize this asset), else Fresh.

Merging: the newer of each record wins, partition sets are joined, and a replayed record
counts only if nothing of the same run, or newer, is recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kasset import naming
from kasset.definitions.keys import AssetKey
from kasset.operator.model.graphs import GraphSnapshot
from kasset.operator.model.status import iso, parse_time

__all__ = [
    "AssetEntry",
    "apply_replays",
    "build_asset_status",
    "clean",
    "failure",
    "materialization",
    "merge_stored",
    "newest",
]


@dataclass
class AssetEntry:
    """What the operator knows of one Asset's status."""

    namespace: str
    graph: GraphSnapshot
    key: AssetKey
    loaded: bool = False
    latest: dict[str, Any] | None = None
    last_failure: dict[str, Any] | None = None
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    materialized: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    stale: bool = False
    #: What a resumed run's status says it recorded, applied once the stored status is read.
    replayed_latest: dict[str, Any] | None = None
    replayed_failure: dict[str, Any] | None = None
    #: The status as last read or written (a write that changes nothing is skipped).
    stored: dict[str, Any] | None = None
    #: The last write found no Asset object: it is redone when the object is created.
    missing: bool = False
    dirty: bool = False
    flushing: bool = False
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    last_flush_at: float = 0.0

    def __post_init__(self) -> None:
        self.idle.set()

    @property
    def object_name(self) -> str:
        return naming.asset_object_name(self.graph.name, self.key.to_string())

    def note_materialized(self, partition: str | None) -> None:
        if partition is not None:
            self.materialized.add(partition)
            self.failed.discard(partition)

    def note_failed(self, partition: str | None) -> None:
        if partition is not None:
            self.failed.add(partition)


def materialization(
    run: str,
    partition: str | None,
    at: float,
    metadata: Mapping[str, str],
    data_version: str | None = None,
) -> dict[str, Any]:
    """The `latest` record of a materialization at `at`."""
    return clean(
        {
            "run": run,
            "partition": partition,
            "time": iso(at),
            "dataVersion": data_version,
            "metadata": dict(metadata) or None,
        }
    )


def failure(run: str, partition: str | None, at: float, message: str | None) -> dict[str, Any]:
    """The `lastFailure` record of a step that failed at `at`."""
    return clean(
        {"run": run, "partition": partition, "time": iso(at), "message": (message or "")[:4096]}
    )


def build_asset_status(entry: AssetEntry, now: float) -> dict[str, Any]:
    """The Asset status for `entry` (pure)."""
    latest_time = parse_time((entry.latest or {}).get("time"))
    failure_time = parse_time((entry.last_failure or {}).get("time"))
    failed_check = any(
        not c["passed"]
        and c.get("severity") == "ERROR"
        and parse_time(c.get("time")) is not None
        and latest_time is not None
        and (parse_time(c.get("time")) or 0) >= latest_time
        for c in entry.checks.values()
    )
    if failure_time is not None and (latest_time is None or failure_time > latest_time):
        health = "Failed"
    elif latest_time is None:
        health = "Missing"
    elif failed_check:
        health = "Failed"
    elif entry.stale:
        health = "Stale"
    else:
        health = "Fresh"
    status: dict[str, Any] = {
        "health": health,
        "latest": entry.latest,
        "lastFailure": entry.last_failure,
        "checks": sorted(entry.checks.values(), key=lambda c: str(c["name"])),
    }
    definition = entry.graph.graph.nodes[entry.key].partitions
    if definition is not None:
        moment = datetime.fromtimestamp(now, UTC)
        status["partitions"] = {
            "materialized": _ranges(definition, entry.materialized),
            "failed": _ranges(definition, entry.failed - entry.materialized),
            "materializedCount": len(entry.materialized),
            "total": len(definition.keys(moment)),
        }
    return status


def merge_stored(entry: AssetEntry, status: Mapping[str, Any]) -> None:
    """Merges what the object's status says (written before this process) into `entry`."""
    if status.get("latest"):
        entry.latest = newest(entry.latest, dict(status["latest"]))
    if status.get("lastFailure"):
        entry.last_failure = newest(entry.last_failure, dict(status["lastFailure"]))
    for check in status.get("checks") or []:
        name = str(check.get("name"))
        entry.checks[name] = newest(entry.checks.get(name), dict(check))
    definition = entry.graph.graph.nodes[entry.key].partitions
    summary = status.get("partitions") or {}
    if definition is not None:
        entry.materialized |= _from_ranges(definition, summary.get("materialized") or "")
        entry.failed |= _from_ranges(definition, summary.get("failed") or "") - entry.materialized
    if status.get("health") == "Stale" and entry.latest is not None:
        entry.stale = entry.stale or status.get("latest") == entry.latest
    apply_replays(entry)


def _time_of(record: dict[str, Any] | None) -> float:
    return parse_time((record or {}).get("time")) or 0.0


def newest(current: dict[str, Any] | None, other: dict[str, Any]) -> dict[str, Any]:
    """`other` if it is newer than `current` (ties keep `current`)."""
    if current is None or _time_of(other) > _time_of(current):
        return other
    return current


def apply_replays(entry: AssetEntry) -> None:
    latest = _replayed(entry.latest, entry.replayed_latest)
    if latest is not entry.latest:
        entry.latest, entry.stale = latest, False
    entry.last_failure = _replayed(entry.last_failure, entry.replayed_failure)
    entry.replayed_latest = entry.replayed_failure = None


def _replayed(
    current: dict[str, Any] | None, replay: dict[str, Any] | None
) -> dict[str, Any] | None:
    """A replayed record counts only if nothing of the same run, or newer, is recorded."""
    if replay is None:
        return current
    if current is None or (
        current.get("run") != replay.get("run") and _time_of(current) < _time_of(replay)
    ):
        return replay
    return current


def _ranges(definition: Any, keys: set[str]) -> str:
    valid = []
    for key in keys:
        try:
            definition.index_of(key)
        except Exception:
            continue
        valid.append(key)
    return str(definition.to_ranges(valid))


def _from_ranges(definition: Any, text: str) -> set[str]:
    try:
        return set(definition.from_ranges(text))
    except Exception:
        return set()


def clean(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v is not None}
