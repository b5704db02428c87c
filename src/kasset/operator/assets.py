"""The status of Asset objects: what materializations and checks left behind.

Each asset's changes are kept in memory and written as one merge patch at most every
~1 s (debounced per asset), so a partitioned backfill of thousands of steps costs a few
writes per asset, not one per step. Partition sets are compact range strings.

Health, kept simple on purpose: Missing (never materialized), Failed (the latest
step failed, or an ERROR check failed on the latest materialization), Stale (a direct
upstream materialized in a run that did not rematerialize this asset), else Fresh.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kasset import naming
from kasset.definitions.keys import AssetKey
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
    dirty: bool = False
    flushing: bool = False
    last_flush_at: float = 0.0

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

    async def flush(self, entry: AssetEntry) -> None:
        entry.flushing, entry.dirty = True, False
        try:
            if not entry.loaded:
                await self._load(entry)
            status = build_asset_status(entry, self.clock())
            result = await self.kube.patch_status(
                "assets", entry.namespace, entry.object_name, status
            )
            if result is None:
                logger.debug("asset %s has no object (yet); its status waits", entry.object_name)
        except ApiError as error:
            logger.warning("cannot write the status of asset %s: %s", entry.object_name, error)
            entry.dirty = True
        finally:
            entry.flushing = False
            entry.last_flush_at = self.clock()
        if entry.dirty:
            self._dirty(entry)

    async def _load(self, entry: AssetEntry) -> None:
        """Merges what the object's status already says (from before this process)."""
        body = await self.kube.get_object("assets", entry.namespace, entry.object_name)
        entry.loaded = True
        status = (body or {}).get("status") or {}
        if entry.latest is None and status.get("latest"):
            entry.latest = dict(status["latest"])
        if entry.last_failure is None and status.get("lastFailure"):
            entry.last_failure = dict(status["lastFailure"])
        for check in status.get("checks") or []:
            entry.checks.setdefault(str(check.get("name")), dict(check))
        definition = entry.graph.graph.nodes[entry.key].partitions
        summary = status.get("partitions") or {}
        if definition is not None:
            entry.materialized |= _from_ranges(definition, summary.get("materialized") or "")
            entry.failed |= (
                _from_ranges(definition, summary.get("failed") or "") - entry.materialized
            )
        if status.get("health") == "Stale" and entry.latest is not None:
            entry.stale = entry.stale or status.get("latest") == entry.latest


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
