"""The status of Asset objects: what materializations and checks left behind.

Each asset's changes are kept in memory and written as one merge patch at most every
~1 s (debounced per asset), so a partitioned backfill of thousands of steps costs a few
writes per asset, not one per step. Partition sets are compact range strings.

Health, kept simple on purpose: Missing (never materialized), Failed (the latest
step failed, or an ERROR check failed on the latest materialization), Stale (a direct
upstream materialized in a run that did not rematerialize this asset), else Fresh.

The Materialization status is the durable record; Asset status is derived from it, so it
must never lag behind it across a crash. Two rules keep it so: a run's final status is
written only after the Asset changes of that run are (`settle`), and a run resumed after a
restart replays the steps its status says finished (`replay_materialized`,
`replay_failed`): an asset write lost in the crash is redone, one that landed is kept
(the stored status is merged by time, and a replay never displaces what the same run or a
newer one recorded). An Asset whose merged status equals what is stored is not written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kasset import naming
from kasset.definitions.keys import AssetKey
from kasset.errors import DefinitionError
from kasset.operator.client import ApiError, Kube
from kasset.operator.graphs import GraphSnapshot
from kasset.operator.reports import CheckOutcome
from kasset.operator.status import iso, parse_time
from kasset.operator.telemetry import MetricsSink
from kasset.operator.timers import Timers

__all__ = ["AssetBook", "AssetEntry", "build_asset_status"]

logger = logging.getLogger(__name__)


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


class AssetBook:
    """Asset status changes, kept per asset and flushed debounced."""

    def __init__(
        self,
        kube: Kube,
        timers: Timers,
        metrics: MetricsSink,
        clock: Callable[[], float],
        spawn: Callable[[Any], None],
        interval: float = 1.0,
    ) -> None:
        self.kube, self.timers, self.metrics, self.clock = kube, timers, metrics, clock
        self.spawn = spawn
        self.interval = interval
        self.entries: dict[tuple[str, str, AssetKey], AssetEntry] = {}

    def entry(self, namespace: str, graph: GraphSnapshot, key: AssetKey) -> AssetEntry:
        ident = (namespace, graph.name, key)
        found = self.entries.get(ident)
        if found is None:
            found = self.entries[ident] = AssetEntry(namespace, graph, key)
        found.graph = graph
        return found

    def materialized(
        self,
        namespace: str,
        graph: GraphSnapshot,
        key: AssetKey,
        run: str,
        partition: str | None,
        metadata: dict[str, str],
        data_version: str | None,
    ) -> None:
        now = self.clock()
        entry = self.entry(namespace, graph, key)
        entry.latest = _clean(
            {
                "run": run,
                "partition": partition,
                "time": iso(now),
                "dataVersion": data_version,
                "metadata": dict(metadata) or None,
            }
        )
        entry.stale = False
        if partition is not None:
            entry.materialized.add(partition)
            entry.failed.discard(partition)
        self.metrics.asset_materialized(graph.name, key.to_string(), now)
        self._dirty(entry)

    def failed(
        self,
        namespace: str,
        graph: GraphSnapshot,
        key: AssetKey,
        run: str,
        partition: str | None,
        message: str | None,
    ) -> None:
        entry = self.entry(namespace, graph, key)
        entry.last_failure = _clean(
            {
                "run": run,
                "partition": partition,
                "time": iso(self.clock()),
                "message": (message or "")[:4096],
            }
        )
        if partition is not None:
            entry.failed.add(partition)
        self._dirty(entry)

    def check(
        self,
        namespace: str,
        graph: GraphSnapshot,
        key: AssetKey,
        run: str,
        partition: str | None,
        outcome: CheckOutcome,
        metadata: dict[str, str],
    ) -> None:
        entry = self.entry(namespace, graph, key)
        entry.checks[outcome.name] = _clean(
            {
                "name": outcome.name,
                "passed": outcome.passed,
                "severity": outcome.severity if outcome.severity in ("ERROR", "WARN") else "ERROR",
                "time": iso(self.clock()),
                "run": run,
                "partition": partition,
                "metadata": dict(metadata) or None,
            }
        )
        self._dirty(entry)

    def mark_stale(
        self, namespace: str, graph: GraphSnapshot, materialized: Iterable[AssetKey]
    ) -> None:
        """After a run: direct children of what it materialized, that it did not
        rematerialize, are now older than their upstream."""
        done = set(materialized)
        children = {c for key in done if key in graph.graph for c in graph.graph.children(key)}
        for child in children - done:
            entry = self.entry(namespace, graph, child)
            if not entry.stale:
                entry.stale = True
                self._dirty(entry)

    def _dirty(self, entry: AssetEntry) -> None:
        entry.dirty = True
        if not entry.flushing:
            at = max(self.clock(), entry.last_flush_at + self.interval)
            self.timers.schedule(("asset", entry.namespace, entry.graph.name, entry.key), at)

    def fire(self, key: Hashable) -> None:
        """A timer of ours is due: flush that asset."""
        assert isinstance(key, tuple)
        entry = self.entries.get((key[1], key[2], key[3]))
        if entry is not None and entry.dirty and not entry.flushing:
            self.spawn(self.flush(entry))

    def replay_materialized(
        self,
        namespace: str,
        graph: GraphSnapshot,
        key: AssetKey,
        run: str,
        partition: str | None,
        at: float,
        metadata: dict[str, str],
    ) -> None:
        """A resumed run's status says this step succeeded at `at` (see the module doc)."""
        entry = self.entry(namespace, graph, key)
        candidate = _clean(
            {"run": run, "partition": partition, "time": iso(at), "metadata": metadata or None}
        )
        if partition is not None:
            entry.materialized.add(partition)
            entry.failed.discard(partition)
        entry.replayed_latest = _newest(entry.replayed_latest, candidate)
        if entry.loaded:
            _apply_replays(entry)
        self._dirty(entry)

    def replay_failed(
        self,
        namespace: str,
        graph: GraphSnapshot,
        key: AssetKey,
        run: str,
        partition: str | None,
        at: float,
        message: str | None,
    ) -> None:
        """A resumed run's status says this step failed at `at`."""
        entry = self.entry(namespace, graph, key)
        candidate = _clean(
            {"run": run, "partition": partition, "time": iso(at), "message": (message or "")[:4096]}
        )
        if partition is not None and partition not in entry.materialized:
            entry.failed.add(partition)
        entry.replayed_failure = _newest(entry.replayed_failure, candidate)
        if entry.loaded:
            _apply_replays(entry)
        self._dirty(entry)

    def object_created(self, namespace: str, graph: str, key: str) -> None:
        """The Asset object now exists: a status that found none before is written."""
        try:
            entry = self.entries.get((namespace, graph, AssetKey.from_string(key)))
        except DefinitionError:
            return
        if entry is not None and entry.missing:
            entry.missing, entry.loaded, entry.stored = False, False, None
            self._dirty(entry)

    async def settle(self, namespace: str, graph: str, keys: Iterable[AssetKey]) -> bool:
        """Writes now whatever is pending for these assets (a finishing run's); False if a
        write failed, so the caller can hold back what must not precede it."""
        entries = [entry for key in keys if (entry := self.entries.get((namespace, graph, key)))]
        results = await asyncio.gather(*(self._settle_one(entry) for entry in entries))
        return all(results)

    async def _settle_one(self, entry: AssetEntry) -> bool:
        while entry.flushing:
            await entry.idle.wait()
        if not entry.dirty:
            return True
        return await self.flush(entry)

    async def flush(self, entry: AssetEntry) -> bool:
        """Writes the entry's status; False if the write failed (it is retried later)."""
        entry.flushing, entry.dirty = True, False
        entry.idle.clear()
        ok = True
        try:
            if not entry.loaded:
                await self._load(entry)
            status = build_asset_status(entry, self.clock())
            if entry.stored is not None and _clean(status) == _clean(entry.stored):
                return True
            result = await self.kube.patch_status(
                "assets", entry.namespace, entry.object_name, status
            )
            entry.missing = result is None
            if entry.missing:
                logger.debug("asset %s has no object (yet); its status waits", entry.object_name)
            else:
                entry.stored = status
        except ApiError as error:
            logger.warning("cannot write the status of asset %s: %s", entry.object_name, error)
            entry.dirty, ok = True, False
        finally:
            entry.flushing = False
            entry.last_flush_at = self.clock()
            entry.idle.set()
            if entry.dirty:
                self._dirty(entry)
        return ok

    async def _load(self, entry: AssetEntry) -> None:
        """Merges what the object's status already says (from before this process): the
        newer of each record wins, partition sets are joined."""
        body = await self.kube.get_object("assets", entry.namespace, entry.object_name)
        entry.loaded = True
        status = (body or {}).get("status") or {}
        entry.stored = dict(status) if body is not None else None
        if status.get("latest"):
            entry.latest = _newest(entry.latest, dict(status["latest"]))
        if status.get("lastFailure"):
            entry.last_failure = _newest(entry.last_failure, dict(status["lastFailure"]))
        for check in status.get("checks") or []:
            name = str(check.get("name"))
            entry.checks[name] = _newest(entry.checks.get(name), dict(check)) or dict(check)
        definition = entry.graph.graph.nodes[entry.key].partitions
        summary = status.get("partitions") or {}
        if definition is not None:
            entry.materialized |= _from_ranges(definition, summary.get("materialized") or "")
            entry.failed |= (
                _from_ranges(definition, summary.get("failed") or "") - entry.materialized
            )
        if status.get("health") == "Stale" and entry.latest is not None:
            entry.stale = entry.stale or status.get("latest") == entry.latest
        _apply_replays(entry)


def _time_of(record: dict[str, Any] | None) -> float:
    return parse_time((record or {}).get("time")) or 0.0


def _newest(current: dict[str, Any] | None, other: dict[str, Any]) -> dict[str, Any]:
    """`other` if it is newer than `current` (ties keep `current`)."""
    if current is None or _time_of(other) > _time_of(current):
        return other
    return current


def _apply_replays(entry: AssetEntry) -> None:
    latest = _replayed(entry.latest, entry.replayed_latest)
    if latest is not entry.latest:
        entry.latest, entry.stale = latest, False
    entry.last_failure = _replayed(entry.last_failure, entry.replayed_failure)
    entry.replayed_latest = entry.replayed_failure = None


def _replayed(
    current: dict[str, Any] | None, candidate: dict[str, Any] | None
) -> dict[str, Any] | None:
    """A replayed record counts only if nothing of the same run, or newer, is recorded."""
    if candidate is None:
        return current
    if current is None or (
        current.get("run") != candidate.get("run") and _time_of(current) < _time_of(candidate)
    ):
        return candidate
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


def _clean(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v is not None}
